import { join } from 'node:path';
import { App } from 'cdk8s';
import { BuildkitChart } from '../lib/buildkit-chart';
import { serverSans } from '../lib/settings';
import { daemonContainer, find, synthChart } from './support/chart';
import { ROOT, readManifests } from './support/dist';

const SELECTOR = {
  'app.kubernetes.io/name': 'buildkit',
  'app.kubernetes.io/instance': 'buildkitd',
  'app.kubernetes.io/component': 'daemon',
};
const HA = {
  replicas: 3,
  workload: 'statefulset' as const,
  cache: { persistent: true, size: '100Gi' },
  perReplicaIPs: ['192.168.80.111', '192.168.80.112', '192.168.80.113'],
};

describe('StatefulSet with a Longhorn claim per replica', () => {
  const manifests = synthChart(HA);
  const sts = find(manifests, 'StatefulSet', 'buildkitd');

  test('is named buildkitd, so `kubectl ... statefulset/buildkitd` works, and selects the same stable labels', () => {
    expect(sts.metadata.namespace).toBe('buildkit');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.selector).toEqual({ matchLabels: SELECTOR });
    expect(find(synthChart(), 'Deployment', 'buildkitd').spec.selector).toEqual(sts.spec.selector);
    expect(manifests.filter((m) => m.kind === 'Deployment')).toEqual([]);
  });

  test('each replica claims its own Longhorn volume at the state directory', () => {
    expect(sts.spec.volumeClaimTemplates).toEqual([
      {
        metadata: { name: 'cache', labels: { 'app.kubernetes.io/managed-by': 'buildkit-service' } },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'longhorn', resources: { requests: { storage: '100Gi' } } },
      },
    ]);
    expect(sts.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['config', 'certs', 'guard-socket']);
    expect(daemonContainer(manifests, 'StatefulSet').volumeMounts[0]).toEqual({
      name: 'cache',
      mountPath: '/home/user/.local/share/buildkit',
    });
    expect(manifests.filter((m) => m.kind === 'PersistentVolumeClaim')).toEqual([]);
  });

  test('has the headless Service it needs', () => {
    const headless = find(manifests, 'Service', 'buildkitd-headless');
    expect(sts.spec.serviceName).toBe('buildkitd-headless');
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.selector).toEqual(SELECTOR);
  });

  test('the shared LoadBalancer keeps a client on one replica for longer than a build', () => {
    const shared = find(manifests, 'Service', 'buildkitd');
    expect(shared.spec.sessionAffinity).toBe('ClientIP');
    expect(shared.spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
    expect(
      find(synthChart({ ...HA, sessionAffinityTimeoutSeconds: 7200 }), 'Service', 'buildkitd').spec.sessionAffinityConfig.clientIP
        .timeoutSeconds,
    ).toBe(7200);
  });

  test('per-replica LoadBalancers pin one pod each on its own MetalLB IP', () => {
    HA.perReplicaIPs.forEach((ip, i) => {
      const svc = find(manifests, 'Service', `buildkitd-${i}`);
      expect(svc.spec.type).toBe('LoadBalancer');
      expect(svc.metadata.annotations['metallb.io/loadBalancerIPs']).toBe(ip);
      expect(svc.spec.selector).toEqual({ ...SELECTOR, 'statefulset.kubernetes.io/pod-name': `buildkitd-${i}` });
      expect(svc.spec.sessionAffinity).toBeUndefined();
      expect(svc.spec.ports.map((p: any) => p.port)).toEqual([1234]);
    });
  });

  test('the server certificate must cover every address and name a client may dial', () => {
    const sans = serverSans(new BuildkitChart(new App(), 'b', HA).endpoint);
    expect(sans.ips).toEqual(['192.168.80.110', ...HA.perReplicaIPs, '127.0.0.1']);
    expect(sans.dnsNames).toEqual(
      expect.arrayContaining([
        'buildkitd.buildkit.svc.cluster.local',
        'buildkitd-2.buildkit.svc.cluster.local',
        '*.buildkitd-headless.buildkit.svc.cluster.local',
        'localhost',
      ]),
    );
  });

  test('matches the snapshot', () => {
    expect(manifests).toMatchSnapshot();
  });
});

describe('availability with several replicas', () => {
  for (const workload of ['deployment', 'statefulset'] as const) {
    test(`${workload}: a disruption budget of one, spread across nodes`, () => {
      const manifests = synthChart({ replicas: 3, workload });
      const pdb = find(manifests, 'PodDisruptionBudget', 'buildkitd');
      expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: SELECTOR } });
      const pod = find(manifests, workload === 'deployment' ? 'Deployment' : 'StatefulSet', 'buildkitd').spec.template;
      expect(pod.spec.topologySpreadConstraints).toEqual([
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: SELECTOR },
        },
      ]);
    });
  }

  test('a Deployment never drops below the desired count during a rollout', () => {
    const deployment = find(synthChart({ replicas: 3 }), 'Deployment', 'buildkitd');
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  test.each([
    [0, 30],
    [600, 630],
    [86400, 86430],
  ])('a drain timeout of %i s sets the preStop limit and a grace period of %i s', (drain, grace) => {
    const manifests = synthChart({ drainTimeoutSeconds: drain });
    expect(daemonContainer(manifests).lifecycle.preStop.exec.command).toEqual([
      'sh',
      '/home/user/.config/buildkit/prestop.sh',
      String(drain),
    ]);
    expect(find(manifests, 'Deployment', 'buildkitd').spec.template.spec.terminationGracePeriodSeconds).toBe(grace);
  });
});

describe('examples/ha', () => {
  test('is the seed scaled out: 3 replicas, StatefulSet with Longhorn, per-replica IPs, metrics, NetworkPolicy', () => {
    const manifests = readManifests(join(ROOT, 'examples/ha/dist'));
    const sts = find(manifests, 'StatefulSet', 'buildkitd');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('longhorn');
    expect(
      ['buildkitd-0', 'buildkitd-1', 'buildkitd-2'].map(
        (n) => find(manifests, 'Service', n).metadata.annotations['metallb.io/loadBalancerIPs'],
      ),
    ).toEqual(['192.168.80.111', '192.168.80.112', '192.168.80.113']);
    expect(find(manifests, 'ServiceMonitor', 'buildkitd')).toBeDefined();
    expect(find(manifests, 'NetworkPolicy', 'buildkitd')).toBeDefined();
    expect(find(manifests, 'Service', 'buildkitd').spec.externalTrafficPolicy).toBe('Local');
  });
});
