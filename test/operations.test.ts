import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { daemonContainer, find, synthChart } from './support/chart';
import { validateCustomResources } from './support/crd';

describe('metrics', () => {
  const manifests = synthChart({ metrics: { serviceMonitor: true } });

  test('buildkitd serves --debugaddr 0.0.0.0:6060 on a named port', () => {
    const container = daemonContainer(manifests);
    expect(container.args.slice(-2)).toEqual(['--debugaddr', '0.0.0.0:6060']);
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 6060, protocol: 'TCP' });
  });

  test('behind a ClusterIP Service with scrape annotations, never on the LoadBalancer', () => {
    const metrics = find(manifests, 'Service', 'buildkitd-metrics');
    expect(metrics.spec.type).toBe('ClusterIP');
    expect(metrics.spec.ports).toEqual([{ name: 'metrics', port: 6060, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(metrics.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '6060',
      'prometheus.io/path': '/metrics',
    });
    for (const lb of manifests.filter((m) => m.kind === 'Service' && m.spec.type === 'LoadBalancer')) {
      expect(lb.spec.ports.map((p: any) => p.port)).not.toContain(6060);
    }
  });

  test('the ServiceMonitor selects only the metrics Service and is valid for the Prometheus Operator CRD', () => {
    const monitor = find(manifests, 'ServiceMonitor', 'buildkitd');
    const metrics = find(manifests, 'Service', 'buildkitd-metrics');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(metrics.metadata.labels[k]).toBe(v);
    expect(find(manifests, 'Service', 'buildkitd').metadata.labels['app.kubernetes.io/component']).not.toBe('metrics');
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    expect(validateCustomResources([monitor])).toEqual([]);
    const broken = { ...monitor, spec: { ...monitor.spec, endpoints: [{ port: 'metrics', interval: '30 seconds' }] } };
    expect(validateCustomResources([broken])).toEqual([expect.stringMatching(/^ServiceMonitor\/buildkitd: .*interval must match pattern/)]);
  });

  test('no ServiceMonitor unless asked, so clusters without its CRD still apply dist/', () => {
    expect(synthChart({ metrics: {} }).filter((m) => m.kind === 'ServiceMonitor')).toEqual([]);
  });
});

describe('NetworkPolicy', () => {
  const manifests = synthChart({ metrics: {}, networkPolicy: {} });
  const policy = find(manifests, 'NetworkPolicy', 'buildkitd');

  test('the build port from the private ranges and from pods in the cluster', () => {
    expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/instance']).toBe('buildkitd');
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress[0]).toEqual({
      from: [
        { ipBlock: { cidr: '10.0.0.0/8' } },
        { ipBlock: { cidr: '172.16.0.0/12' } },
        { ipBlock: { cidr: '192.168.0.0/16' } },
        { namespaceSelector: {} },
      ],
      ports: [{ port: 1234, protocol: 'TCP' }],
    });
  });

  test('the metrics port only from the monitoring namespace', () => {
    expect(policy.spec.ingress[1]).toEqual({
      from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring'] }] } }],
      ports: [{ port: 6060, protocol: 'TCP' }],
    });
  });

  test('configured ranges and namespaces, and externalTrafficPolicy Local to keep client addresses', () => {
    const custom = synthChart({
      externalTrafficPolicy: 'Local',
      networkPolicy: { allowedCidrs: ['10.20.0.0/16'], allowedNamespaces: ['ci', 'gitea'] },
    });
    expect(find(custom, 'NetworkPolicy', 'buildkitd').spec.ingress[0].from).toEqual([
      { ipBlock: { cidr: '10.20.0.0/16' } },
      { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ci', 'gitea'] }] } },
    ]);
    expect(find(custom, 'Service', 'buildkitd').spec.externalTrafficPolicy).toBe('Local');
  });

  test('with namespaces alone admitted, the in-cluster client Secret must go to one of them, or its jobs could not reach the daemon', () => {
    const refusal =
      /^BuildkitChart: invalid clientNamespace "buildkit": the in-cluster client Secret goes there, and networkPolicy\.allowedNamespaces admits only ci, gitea, so jobs there could not reach the daemon; set clientNamespace to one of them$/;
    expect(() => synthChart({ networkPolicy: { allowedNamespaces: ['ci', 'gitea'] } })).toThrow(refusal);
    expect(() => synthChart({ networkPolicy: { allowedNamespaces: [] } })).toThrow(/admits only none, /);
    // Served: a client namespace among them; a range besides (it may hold the pods); no policy; every namespace.
    for (const settings of [
      { networkPolicy: { allowedNamespaces: ['ci', 'gitea'] }, clientNamespace: 'gitea' },
      { networkPolicy: { allowedNamespaces: ['ci'], allowedCidrs: ['10.42.0.0/16'] } },
      { networkPolicy: { enabled: false, allowedNamespaces: ['ci'] } },
      { networkPolicy: { allowedCidrs: ['10.42.0.0/16'] } },
    ] satisfies BuildkitChartProps[]) {
      expect(() => synthChart(settings)).not.toThrow();
    }
  });

  test('namespaces alone admit those namespaces only: no private range lets every pod back in', () => {
    const only = find(synthChart({ networkPolicy: { allowedNamespaces: ['ci'] }, clientNamespace: 'ci' }), 'NetworkPolicy', 'buildkitd');
    expect(only.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ci'] }] } }],
        ports: [{ port: 1234, protocol: 'TCP' }],
      },
    ]);
  });

  test('metrics with the build-port policy off: the metrics port (and pprof) from monitoring only, the build port left open', () => {
    const objects = synthChart({ metrics: { monitoringNamespace: 'observability' }, networkPolicy: { enabled: false } });
    expect(find(objects, 'NetworkPolicy', 'buildkitd').spec.ingress).toEqual([
      { ports: [{ port: 1234, protocol: 'TCP' }] },
      {
        from: [
          { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['observability'] }] } },
        ],
        ports: [{ port: 6060, protocol: 'TCP' }],
      },
    ]);
    expect(synthChart({ networkPolicy: { enabled: false } }).filter((m) => m.kind === 'NetworkPolicy' && m.spec.ingress)).toEqual([]);
  });

  test('an open build port cannot be combined with ranges or namespaces', () => {
    const { Testing } = require('cdk8s');
    const { BuildkitDaemon, BuildkitNetworkPolicy } = require('../lib');
    const chart = Testing.chart();
    const daemon = new BuildkitDaemon(chart, 'd');
    expect(() => new BuildkitNetworkPolicy(chart, 'p', { daemon, openBuildPort: true, allowedNamespaces: ['ci'] })).toThrow(
      /^BuildkitNetworkPolicy: invalid openBuildPort true: it admits every source/,
    );
  });
});

describe('multi-platform', () => {
  const manifests = synthChart({ architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.114' }] });

  test('the main daemon is pinned to its architecture', () => {
    expect(find(manifests, 'Deployment', 'buildkitd').spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64' });
  });

  test('a native arm64 builder has its own name, selector, cache, Service and IP', () => {
    const arm = find(manifests, 'Deployment', 'buildkitd-arm64');
    expect(arm.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm64' });
    expect(arm.spec.selector.matchLabels['app.kubernetes.io/instance']).toBe('buildkitd-arm64');
    const svc = find(manifests, 'Service', 'buildkitd-arm64');
    expect(svc.metadata.annotations['metallb.io/loadBalancerIPs']).toBe('192.168.80.114');
    expect(svc.spec.selector).toEqual(arm.spec.selector.matchLabels);
    expect(find(manifests, 'ConfigMap', 'buildkitd-arm64-config')).toBeDefined();
    expect(daemonContainer(manifests, 'Deployment', 'buildkitd-arm64').args).toEqual(daemonContainer(manifests).args);
  });

  test('matches the snapshot', () => {
    expect(manifests).toMatchSnapshot();
  });
});
