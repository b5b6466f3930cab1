import { parse } from 'smol-toml';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { daemonContainer, find, synthChart } from './support/chart';

const SELECTOR = {
  'app.kubernetes.io/name': 'buildkit',
  'app.kubernetes.io/instance': 'buildkitd',
  'app.kubernetes.io/component': 'daemon',
};
const SOCKET = 'unix:///run/user/1000/buildkit/buildkitd.sock';

describe('the default chart (the seed, no settings)', () => {
  const manifests = synthChart();
  const deployment = find(manifests, 'Deployment', 'buildkitd');
  const pod = deployment.spec.template;
  const container = daemonContainer(manifests);
  const service = find(manifests, 'Service', 'buildkitd');

  test('holds exactly the namespace, config, workload, LoadBalancer and the two policies (who reaches it, what it reaches)', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ConfigMap/buildkitd-config',
      'Deployment/buildkitd',
      'Namespace/buildkit',
      'NetworkPolicy/buildkitd',
      'NetworkPolicy/buildkitd-egress',
      'Service/buildkitd',
    ]);
  });

  test('every namespaced object is in namespace buildkit; the Namespace itself carries none', () => {
    for (const m of manifests.filter((o) => o.kind !== 'Namespace')) expect(m.metadata.namespace).toBe('buildkit');
    expect(find(manifests, 'Namespace', 'buildkit').metadata.namespace).toBeUndefined();
  });

  test('the namespace admits rootless BuildKit at the privileged Pod Security level', () => {
    const labels = find(manifests, 'Namespace', 'buildkit').metadata.labels;
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  test('`kubectl scale deployment buildkitd -n buildkit` finds one replica selected on stable labels only', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.selector).toEqual({ matchLabels: SELECTOR });
    expect(pod.metadata.labels).toMatchObject(SELECTOR);
    const allLabelKeys = manifests.flatMap((m) => Object.keys({ ...m.metadata.labels, ...m.spec?.template?.metadata?.labels }));
    expect(allLabelKeys.filter((k) => k.startsWith('cdk8s.io'))).toEqual([]);
  });

  test('runs the rootless image pinned by tag and index digest (image-digests.md), never latest', () => {
    expect(container.name).toBe('buildkitd');
    expect(container.image).toBe('moby/buildkit:v0.32.2-rootless@sha256:504731e577c20559c00f968f33219f30115e70be29ab96728d1d06e963fc494b');
    expect(container.imagePullPolicy).toBe('IfNotPresent');
  });

  test('serves mutual TLS on tcp 1234 and keeps the unix socket for probes (and a second one for the cache guard)', () => {
    expect(container.args).toEqual([
      '--addr',
      SOCKET,
      '--addr',
      'unix:///run/buildkit/buildkitd.sock',
      '--addr',
      'tcp://0.0.0.0:1234',
      '--tlscacert',
      '/certs/ca.pem',
      '--tlscert',
      '/certs/cert.pem',
      '--tlskey',
      '/certs/key.pem',
      '--oci-worker-no-process-sandbox',
    ]);
    expect(container.ports).toEqual([{ name: 'buildkitd', containerPort: 1234, protocol: 'TCP' }]);
  });

  test('probes ask buildctl for the workers over the unix socket, with a patient startup probe', () => {
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      expect(probe.exec.command).toEqual(['buildctl', '--addr', SOCKET, 'debug', 'workers']);
      expect(probe.timeoutSeconds).toBeGreaterThanOrEqual(5);
    }
    const startup = container.startupProbe;
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(300);
  });

  test('runs as uid/gid 1000 with the privileges rootless BuildKit needs and no more', () => {
    expect(pod.spec.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 1000,
      runAsNonRoot: true,
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
    });
    expect(container.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 1000,
      allowPrivilegeEscalation: true,
      readOnlyRootFilesystem: false,
      // newuidmap and newgidmap need these two; NET_RAW and the rest of the runtime's default set are gone.
      capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID'] },
      seccompProfile: { type: 'Unconfined' },
      appArmorProfile: { type: 'Unconfined' },
    });
    expect(container.securityContext.privileged).toBeUndefined();
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(Object.keys(pod.metadata.annotations).filter((k) => k.includes('apparmor'))).toEqual([]);
  });

  test('sizes resources for BuildKit, not cdk8s-plus defaults', () => {
    // Memory: 2Gi for each of the 2 parallel steps and 2Gi for the daemon, requested as much as limited, so that
    // neither overcommit nor node-pressure eviction ends running builds; the emptyDir cache's disk, reserved.
    expect(container.resources).toEqual({
      requests: { cpu: '500m', memory: '6Gi', 'ephemeral-storage': '50Gi' },
      limits: { memory: '6Gi' },
    });
  });

  test('mounts the cache at the state directory, the config read-only and the certificates read-only at /certs', () => {
    expect(container.volumeMounts).toEqual([
      { name: 'cache', mountPath: '/home/user/.local/share/buildkit' },
      { name: 'config', mountPath: '/home/user/.config/buildkit', readOnly: true },
      { name: 'certs', mountPath: '/certs', readOnly: true },
      { name: 'guard-socket', mountPath: '/run/buildkit' },
    ]);
    expect(pod.spec.volumes).toEqual([
      { name: 'cache', emptyDir: { sizeLimit: '50Gi' } },
      { name: 'config', configMap: { name: 'buildkitd-config' } },
      { name: 'certs', secret: { secretName: 'buildkit-daemon-certs', defaultMode: 0o440 } },
      { name: 'guard-socket', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ]);
  });

  test('buildkitd.toml caps the cache in absolute sizes under the 50Gi emptyDir', () => {
    const toml = parse(find(manifests, 'ConfigMap', 'buildkitd-config').data['buildkitd.toml']) as any;
    expect(toml.worker.oci).toEqual({
      enabled: true,
      gc: true,
      reservedSpace: '5120MiB',
      maxUsedSpace: '38400MiB',
      minFreeSpace: '12800MiB',
      'max-parallelism': 2,
    });
    expect(toml.history).toEqual({ maxAge: '168h', maxEntries: 300 });
  });

  test('a rollout waits for running builds before the daemon stops', () => {
    expect(container.lifecycle.preStop.exec.command).toEqual(['sh', '/home/user/.config/buildkit/prestop.sh', '1800']);
    expect(pod.spec.terminationGracePeriodSeconds).toBe(1830);
    expect(find(manifests, 'ConfigMap', 'buildkitd-config').data['prestop.sh']).toMatch(/^#!\/bin\/sh\n/);
  });

  test('a single replica needs no budget, spread or affinity', () => {
    expect(manifests.filter((m) => m.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(pod.spec.topologySpreadConstraints).toBeUndefined();
    expect(service.spec.sessionAffinity).toBeUndefined();
  });

  test('exposes no metrics port and no debug address by default', () => {
    expect(container.args.join(' ')).not.toContain('--debugaddr');
    expect(service.spec.ports.map((p: any) => p.port)).toEqual([1234]);
  });

  test('rolls without dropping below the desired count', () => {
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  test('the service answers at buildkitd.buildkit.svc.cluster.local:1234 and on MetalLB 192.168.80.110', () => {
    expect(service.metadata.namespace).toBe('buildkit');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.loadBalancerIP).toBeUndefined();
    expect(service.metadata.annotations).toEqual({ 'metallb.io/loadBalancerIPs': '192.168.80.110' });
    expect(service.spec.ports).toEqual([{ name: 'buildkitd', port: 1234, targetPort: 'buildkitd', protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual(SELECTOR);
    expect(pod.metadata.labels).toMatchObject(service.spec.selector);
  });

  test('matches the snapshot', () => {
    expect(manifests).toMatchSnapshot();
  });
});

describe('the Longhorn-persisted cache', () => {
  const manifests = synthChart({ cache: { persistent: true, size: '100Gi' } });
  const deployment = find(manifests, 'Deployment', 'buildkitd');

  test('claims a ReadWriteOnce Longhorn volume of the given size', () => {
    const claim = find(manifests, 'PersistentVolumeClaim', 'buildkitd-cache');
    expect(claim.metadata.namespace).toBe('buildkit');
    expect(claim.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'longhorn',
      resources: { requests: { storage: '100Gi' } },
    });
  });

  test('mounts the claim at the state directory', () => {
    expect(deployment.spec.template.spec.volumes[0]).toEqual({ name: 'cache', persistentVolumeClaim: { claimName: 'buildkitd-cache' } });
    expect(daemonContainer(manifests).volumeMounts[0].mountPath).toBe('/home/user/.local/share/buildkit');
  });

  test('recreates instead of surging, so two daemons never share the state directory', () => {
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('derives the GC limits from the claim size', () => {
    const toml = parse(find(manifests, 'ConfigMap', 'buildkitd-config').data['buildkitd.toml']) as any;
    expect(toml.worker.oci.maxUsedSpace).toBe('76800MiB');
  });

  test('a custom storage class and claim name', () => {
    const custom = synthChart({ cache: { persistent: true, storageClassName: 'fast-ssd', claimName: 'cache' } });
    expect(find(custom, 'PersistentVolumeClaim', 'cache').spec.storageClassName).toBe('fast-ssd');
  });

  test('matches the snapshot', () => {
    expect(manifests).toMatchSnapshot();
  });
});

describe('settings', () => {
  test('namespace, name, IP, port and replicas flow into every object', () => {
    const manifests = synthChart({ namespace: 'ci', name: 'builder', loadBalancerIP: '10.0.0.7', port: 8443, replicas: 3 });
    const deployment = find(manifests, 'Deployment', 'builder');
    const service = find(manifests, 'Service', 'builder');
    expect(find(manifests, 'Namespace', 'ci')).toBeDefined();
    expect(deployment.metadata.namespace).toBe('ci');
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.selector.matchLabels['app.kubernetes.io/instance']).toBe('builder');
    expect(daemonContainer(manifests, 'Deployment', 'builder').args).toContain('tcp://0.0.0.0:8443');
    expect(service.metadata.annotations['metallb.io/loadBalancerIPs']).toBe('10.0.0.7');
    expect(service.spec.ports[0].port).toBe(8443);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  test('resources override field by field', () => {
    const container = daemonContainer(synthChart({ resources: { requests: { cpu: '2' }, limits: { cpu: '4' } } }));
    // A CPU request of 2 means 2 parallel steps: 2 × 2Gi + 2Gi of memory, requested as much as limited.
    expect(container.resources).toEqual({
      requests: { cpu: '2', memory: '6Gi', 'ephemeral-storage': '50Gi' },
      limits: { cpu: '4', memory: '6Gi' },
    });
    const four = daemonContainer(synthChart({ resources: { requests: { cpu: '3500m' } } }));
    expect(four.resources.limits.memory).toBe('10Gi');
    expect(four.resources.requests.memory).toBe('10Gi');
    const own = daemonContainer(
      synthChart({ resources: { requests: { memory: '2Gi' }, limits: { memory: '12Gi' } }, cache: { persistent: true } }),
    );
    expect(own.resources).toEqual({ requests: { cpu: '500m', memory: '2Gi' }, limits: { memory: '12Gi' } });
  });

  test('a resource field given as undefined takes its default, as an absent one does', () => {
    const unset = daemonContainer(
      synthChart({ resources: { requests: { cpu: undefined, memory: undefined }, limits: { cpu: undefined, memory: undefined } } }),
    );
    expect(unset.resources).toEqual({ requests: { cpu: '500m', memory: '6Gi', 'ephemeral-storage': '50Gi' }, limits: { memory: '6Gi' } });
  });

  test('an SELinux type reaches the container, and only when set', () => {
    expect(daemonContainer(synthChart({ seLinuxType: 'spc_t' })).securityContext.seLinuxOptions).toEqual({ type: 'spc_t' });
    expect(daemonContainer(synthChart({})).securityContext).not.toHaveProperty('seLinuxOptions');
  });

  test('older clusters get the AppArmor annotation instead of the field', () => {
    const manifests = synthChart({ legacyAppArmorAnnotation: true });
    const pod = find(manifests, 'Deployment', 'buildkitd').spec.template;
    expect(pod.metadata.annotations['container.apparmor.security.beta.kubernetes.io/buildkitd']).toBe('unconfined');
    expect(daemonContainer(manifests).securityContext.appArmorProfile).toBeUndefined();
    expect(daemonContainer(manifests).securityContext.seccompProfile).toEqual({ type: 'Unconfined' });
  });

  test('older MetalLB gets its legacy annotations, with the address pool', () => {
    const annotations = find(synthChart({ legacyMetallbAnnotations: true, addressPool: 'internal' }), 'Service', 'buildkitd').metadata
      .annotations;
    expect(annotations).toEqual({
      'metallb.universe.tf/loadBalancerIPs': '192.168.80.110',
      'metallb.universe.tf/address-pool': 'internal',
    });
    const current = find(synthChart({ addressPool: 'internal' }), 'Service', 'buildkitd').metadata.annotations;
    expect(current['metallb.io/address-pool']).toBe('internal');
  });

  test("Cilium's LB IPAM and kube-vip are asked for the address in their own annotation, and MetalLB's settings refused there", () => {
    const annotations = (settings: BuildkitChartProps) =>
      synthChart(settings)
        .filter((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer')
        .map((o) => o.metadata.annotations);
    expect(annotations({ loadBalancer: 'cilium' })).toEqual([{ 'lbipam.cilium.io/ips': '192.168.80.110' }]);
    expect(annotations({ loadBalancer: 'kube-vip', loadBalancerIP: '10.0.0.7' })).toEqual([{ 'kube-vip.io/loadbalancerIPs': '10.0.0.7' }]);
    expect(annotations({ loadBalancer: 'metallb' })).toEqual(annotations({}));
    // Every LoadBalancer Service: per-replica ones and native builders' too.
    const all = annotations({
      loadBalancer: 'cilium',
      workload: 'statefulset',
      replicas: 2,
      perReplicaIPs: ['10.0.0.1', '10.0.0.2'],
      architecture: 'amd64',
      nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.3' }],
    });
    expect(all.map((a) => a['lbipam.cilium.io/ips']).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '192.168.80.110']);
    expect(all.every((a) => Object.keys(a).length === 1)).toBe(true);
    expect(() => synthChart({ loadBalancer: 'cilium', addressPool: 'internal' })).toThrow(
      new Error(`BuildkitService: invalid addressPool "internal": it is MetalLB's, and loadBalancer is 'cilium'; leave it out`),
    );
    expect(() => synthChart({ loadBalancer: 'kube-vip', legacyMetallbAnnotations: true })).toThrow(
      new Error(`BuildkitService: invalid legacyMetallbAnnotations true: it is MetalLB's, and loadBalancer is 'kube-vip'; leave it out`),
    );
    expect(() => synthChart({ loadBalancer: 'cilium', legacyMetallbAnnotations: false })).not.toThrow();
    expect(() => synthChart({ loadBalancer: 'klipper' as never })).toThrow(
      new Error(`BuildkitService: invalid loadBalancer "klipper": use 'metallb', 'cilium' or 'kube-vip'`),
    );
    expect(() => synthChart({ loadBalancer: 'toString' as never })).toThrow(/invalid loadBalancer "toString"/);
  });

  test('the certificate Secret is referenced by name', () => {
    const pod = find(synthChart({ certSecretName: 'my-certs' }), 'Deployment', 'buildkitd').spec.template;
    expect(pod.spec.volumes.find((v: any) => v.name === 'certs').secret.secretName).toBe('my-certs');
  });
});

describe('pods roll when what buildkitd reads once at start changes', () => {
  const annotations = (props = {}) => find(synthChart(props), 'Deployment', 'buildkitd').spec.template.metadata.annotations;
  const base = annotations();

  test('the same settings give the same checksums', () => {
    expect(annotations()).toEqual(base);
  });

  test('a new cache size changes the config checksum only', () => {
    const changed = annotations({ cache: { size: '80Gi' } });
    expect(changed['checksum/config']).not.toBe(base['checksum/config']);
    expect(changed['checksum/tls']).toBe(base['checksum/tls']);
  });

  test('a new certificate revision or Secret changes the TLS checksum only', () => {
    for (const props of [{ certRevision: 'mac-2' }, { certSecretName: 'other' }]) {
      const changed = annotations(props);
      expect(changed['checksum/tls']).not.toBe(base['checksum/tls']);
      expect(changed['checksum/config']).toBe(base['checksum/config']);
    }
  });
});

describe("a native builder's cache", () => {
  const native = { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.115' }] } as const;
  const claims = (props: BuildkitChartProps) =>
    synthChart({ ...native, ...props })
      .filter((o: any) => o.kind === 'PersistentVolumeClaim')
      .map((o: any) => o.metadata.name);
  const volumeOf = (props: BuildkitChartProps, kind: string, name: string) =>
    find(synthChart({ ...native, ...props }), kind, name).spec.template.spec.volumes?.find((v: any) => v.name === 'cache');

  test('persistent: a claim of its own, named after the builder or after the shared claim name', () => {
    expect(claims({ cache: { persistent: true } })).toEqual(['buildkitd-cache', 'buildkitd-arm64-cache']);
    expect(claims({ cache: { persistent: true, claimName: 'builds' } })).toEqual(['builds', 'builds-arm64']);
    expect(volumeOf({ cache: { persistent: true } }, 'Deployment', 'buildkitd-arm64')).toEqual({
      name: 'cache',
      persistentVolumeClaim: { claimName: 'buildkitd-arm64-cache' },
    });
  });

  test('an emptyDir, or a claim per StatefulSet replica: no claim name to give it', () => {
    expect(claims({})).toEqual([]);
    expect(volumeOf({}, 'Deployment', 'buildkitd-arm64')).toEqual({ name: 'cache', emptyDir: { sizeLimit: '50Gi' } });
    const perReplica = synthChart({ ...native, workload: 'statefulset', cache: { persistent: true } });
    const builder = find(perReplica, 'StatefulSet', 'buildkitd-arm64');
    expect(builder.spec.volumeClaimTemplates.map((t: any) => t.metadata.name)).toEqual(['cache']);
    expect(perReplica.filter((o: any) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
  });
});
