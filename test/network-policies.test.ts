import { App, Chart, Testing } from 'cdk8s';
import type { BuildkitChartProps } from '../lib';
import { BuildkitChart } from '../lib/buildkit-chart';
import { BuildkitDaemon } from '../lib/buildkit-daemon';
import { BuildkitEgressPolicy, type EgressDestination, NON_PUBLIC_RANGES } from '../lib/buildkit-egress-policy';
import { BuildkitNetworkPolicy } from '../lib/buildkit-network-policy';
import { CacheVolume } from '../lib/cache-volume';
import { serviceCharts } from '../lib/tenants';
import { TlsBundle } from '../lib/tls-bundle';
import { synthChart } from './support/chart';
import { type Connection, egressAdmitted, ingressAdmitted, type Peer, type Pod, podOf, selects } from './support/network-policy';

// What the synthesized NetworkPolicies admit, read by a small evaluator of the NetworkPolicy rules for sample
// addresses and ports: the facts a security review asks about, not the YAML's shape.

const TCP = (port: number): Connection => ({ port, protocol: 'TCP' });
const UDP = (port: number): Connection => ({ port, protocol: 'UDP' });
const CACHE_LABELS = {
  'app.kubernetes.io/name': 'registry',
  'app.kubernetes.io/instance': 'buildkit-registry-cache',
  'app.kubernetes.io/component': 'pull-through-cache',
};

/** Sample destinations a build step might dial, named for what they are. */
const PLACES: Record<string, [Peer, Connection]> = {
  'the cloud metadata address': [{ ip: '169.254.169.254' }, TCP(80)],
  "AWS's IPv6 metadata address": [{ ip: 'fd00:ec2::254' }, TCP(80)],
  "Alibaba's metadata address (CGNAT)": [{ ip: '100.100.100.200' }, TCP(80)],
  'the metadata address behind NAT64': [{ ip: '64:ff9b::a9fe:a9fe' }, TCP(80)],
  'a node behind NAT64': [{ ip: '64:ff9b::192.168.1.11' }, TCP(10250)],
  'the Kubernetes API behind its Service': [{ ip: '192.168.1.10' }, TCP(6443)],
  'a pod in another namespace': [{ ip: '10.42.1.7', pod: { namespace: 'apps', labels: { app: 'web' } } }, TCP(8080)],
  'a Service IP': [{ ip: '10.43.0.15' }, TCP(443)],
  'a node': [{ ip: '192.168.1.11' }, TCP(10250)],
  'the loopback range': [{ ip: '127.0.0.2' }, TCP(6060)],
  'a public address': [{ ip: '140.82.112.3' }, TCP(443)],
  'a public IPv6 address': [{ ip: '2606:4700::1111' }, TCP(443)],
  'a public address behind NAT64': [{ ip: '64:ff9b::140.82.112.3' }, TCP(443)],
  'a public address on another port': [{ ip: '151.101.1.69' }, TCP(9418)],
  'the cluster DNS over UDP': [{ ip: '10.42.0.5', pod: { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } } }, UDP(53)],
  'the cluster DNS over TCP': [{ ip: '10.42.0.5', pod: { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } } }, TCP(53)],
  'the DNS pods on another port': [{ ip: '10.42.0.5', pod: { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } } }, TCP(9153)],
  'another kube-system pod on 53': [{ ip: '10.42.0.6', pod: { namespace: 'kube-system', labels: { app: 'other' } } }, UDP(53)],
  'the registry cache': [{ ip: '10.42.2.9', pod: { namespace: 'buildkit', labels: CACHE_LABELS } }, TCP(5000)],
  "another daemon's debug port": [
    { ip: '10.42.3.3', pod: { namespace: 'buildkit', labels: { 'app.kubernetes.io/instance': 'buildkitd-arm64' } } },
    TCP(6060),
  ],
};

function reachable(settings: BuildkitChartProps, kind = 'Deployment', name = 'buildkitd'): string[] {
  const objects = synthChart(settings);
  const pod = podOf(objects, kind, name);
  return Object.entries(PLACES)
    .filter(([, [peer, c]]) => egressAdmitted(objects, pod, peer, c))
    .map(([place]) => place);
}

const PUBLIC_AND_DNS = [
  'a public address',
  'a public IPv6 address',
  'a public address behind NAT64',
  'a public address on another port',
  'the cluster DNS over UDP',
  'the cluster DNS over TCP',
];

describe('the evaluator follows the NetworkPolicy rules', () => {
  const pod: Pod = { namespace: 'ns', labels: { app: 'a' } };
  const policy = (spec: any) => [{ kind: 'NetworkPolicy', metadata: { namespace: 'ns' }, spec: { podSelector: {}, ...spec } }];

  test('no policy selecting the pod admits everything; one with no rules admits nothing', () => {
    expect(egressAdmitted([], pod, { ip: '10.0.0.1' }, TCP(1))).toBe(true);
    expect(egressAdmitted(policy({ policyTypes: ['Egress'] }), pod, { ip: '10.0.0.1' }, TCP(1))).toBe(false);
    const elsewhere = [{ kind: 'NetworkPolicy', metadata: { namespace: 'other' }, spec: { podSelector: {}, policyTypes: ['Egress'] } }];
    expect(egressAdmitted(elsewhere, pod, { ip: '10.0.0.1' }, TCP(1))).toBe(true);
  });

  test('an empty `to` means every destination, empty ports every port', () => {
    expect(egressAdmitted(policy({ policyTypes: ['Egress'], egress: [{}] }), pod, { ip: '10.0.0.1' }, UDP(9))).toBe(true);
    const onePort = policy({ policyTypes: ['Egress'], egress: [{ ports: [{ port: 443 }] }] });
    expect([egressAdmitted(onePort, pod, { ip: '1.1.1.1' }, TCP(443)), egressAdmitted(onePort, pod, { ip: '1.1.1.1' }, UDP(443))]).toEqual([
      true,
      false,
    ]);
  });

  test('`except` carves a range out of an ipBlock, on both sides of its edge', () => {
    const p = policy({ policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] });
    const at = (ip: string) => egressAdmitted(p, pod, { ip }, TCP(1));
    expect([at('10.0.255.255'), at('10.1.0.0'), at('10.1.255.255'), at('10.2.0.0'), at('11.0.0.0'), at('::1')]).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
  });

  test('a podSelector alone means the policy namespace; with a namespaceSelector, both must match', () => {
    const p = policy({ policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] });
    const db = (namespace: string) => ({ ip: '10.0.0.9', pod: { namespace, labels: { app: 'db' } } });
    expect([egressAdmitted(p, pod, db('ns'), TCP(1)), egressAdmitted(p, pod, db('other'), TCP(1))]).toEqual([true, false]);
    expect(selects({ matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] }, { k: 'v' })).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'k', operator: 'NotIn', values: ['v'] }] }, { k: 'v' })).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'k', operator: 'Exists' }] }, {})).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] }, {})).toBe(true);
  });
});

describe('egress: what a build step can reach', () => {
  test('by default: DNS and public addresses on any port, nothing private, no metadata address', () => {
    expect(reachable({})).toEqual(PUBLIC_AND_DNS);
  });

  test("NAT64's well-known prefix: each non-public IPv4 range is refused behind it, to its edges, and the rest of it admitted", () => {
    const objects = synthChart({});
    const pod = podOf(objects, 'Deployment', 'buildkitd');
    const viaNat64 = (ipv4: number) => `64:ff9b::${(ipv4 >>> 16).toString(16)}:${(ipv4 & 0xffff).toString(16)}`;
    const admitted = (ipv4: number) => egressAdmitted(objects, pod, { ip: viaNat64(ipv4) }, TCP(443));
    const number = (dotted: string) => dotted.split('.').reduce((n, part) => n * 256 + Number(part), 0);
    for (const cidr of NON_PUBLIC_RANGES.ipv4) {
      const [network, prefix] = cidr.split('/');
      const first = number(network);
      const last = first + 2 ** (32 - Number(prefix)) - 1;
      // Inside, at both edges, as the plain IPv4 range is; outside, public (no two of these ranges touch).
      expect([admitted(first), admitted(last), admitted(first - 1), admitted(last + 1)]).toEqual([false, false, true, true]);
      expect(egressAdmitted(objects, pod, { ip: network }, TCP(443))).toBe(false);
    }
  });

  test('with a registry cache: the cache on its port too', () => {
    expect(reachable({ registryCache: { size: '20Gi' } })).toEqual([...PUBLIC_AND_DNS, 'the registry cache']);
  });

  test('an admitted destination by address: that address on that port only', () => {
    const objects = synthChart({ egress: { allow: [{ cidr: '192.168.1.20/32', port: 3000 }] } });
    const pod = podOf(objects, 'Deployment', 'buildkitd');
    const at = (ip: string, port: number) => egressAdmitted(objects, pod, { ip }, TCP(port));
    expect([at('192.168.1.20', 3000), at('192.168.1.20', 22), at('192.168.1.21', 3000)]).toEqual([true, false, false]);
  });

  test('an admitted destination by namespace and labels: those pods only', () => {
    const objects = synthChart({ egress: { allow: [{ namespace: 'gitea', podLabels: { app: 'gitea' }, port: 3000 }] } });
    const pod = podOf(objects, 'Deployment', 'buildkitd');
    const to = (namespace: string, labels: Record<string, string>) =>
      egressAdmitted(objects, pod, { ip: '10.42.5.5', pod: { namespace, labels } }, TCP(3000));
    expect([to('gitea', { app: 'gitea' }), to('gitea', { app: 'runner' }), to('apps', { app: 'gitea' })]).toEqual([true, false, false]);
  });

  test('registries given by address are admitted on their port; names are not (they cannot be resolved here)', () => {
    const objects = synthChart({
      registries: { '192.168.1.30:5000': { http: true }, 'docker.io': { mirrors: ['10.0.0.5', 'mirror.lan'] }, '10.0.0.6': { http: true } },
    });
    const pod = podOf(objects, 'Deployment', 'buildkitd');
    const at = (ip: string, port: number) => egressAdmitted(objects, pod, { ip }, TCP(port));
    expect([at('192.168.1.30', 5000), at('192.168.1.30', 443), at('10.0.0.5', 443), at('10.0.0.6', 80), at('10.0.0.6', 443)]).toEqual([
      true,
      false,
      true,
      true,
      false,
    ]);
  });

  test('another distribution labels its DNS pods differently: the setting follows', () => {
    const openshift = { namespace: 'openshift-dns', podLabels: { 'dns.operator.openshift.io/daemonset-dns': 'default' }, port: 5353 };
    const objects = synthChart({ egress: { dns: openshift } });
    const pod = podOf(objects, 'Deployment', 'buildkitd');
    const dnsPod = { namespace: 'openshift-dns', labels: openshift.podLabels };
    expect(egressAdmitted(objects, pod, { ip: '10.128.0.5', pod: dnsPod }, UDP(5353))).toBe(true);
    expect(egressAdmitted(objects, pod, { ip: '10.128.0.5', pod: dnsPod }, UDP(53))).toBe(false);
    expect(egressAdmitted(objects, pod, ...PLACES['the cluster DNS over UDP'])).toBe(false);
  });

  test('a cluster on public addresses: clusterCidrs keeps its nodes and pods out of "the internet", up to the edge of each range', () => {
    // Cloud and VPS nodes, GKE's privately used public ranges and globally routed IPv6 pod prefixes are public.
    const cluster = { egress: { clusterCidrs: ['203.0.113.0/24', '2001:db8:42::/56'] } };
    const places: Array<[string, number]> = [
      ['203.0.113.0', 10250], // the range's first address: a node's kubelet
      ['203.0.113.255', 9100], // its last: a node exporter on the host network
      ['2001:db8:42::7', 8080], // a pod
      ['2001:db8:42:ff:ffff:ffff:ffff:ffff', 443], // the prefix's last address
      ['203.0.112.255', 443], // just below the range: the internet
      ['203.0.114.0', 443], // just above
      ['2001:db8:42:100::', 443], // just past the prefix
      ['140.82.112.3', 443],
    ];
    const admitted = (settings: BuildkitChartProps) => {
      const objects = synthChart(settings);
      const pod = podOf(objects, 'Deployment', 'buildkitd');
      return places.map(([ip, port]) => egressAdmitted(objects, pod, { ip }, TCP(port)));
    };
    expect(admitted({})).toEqual(places.map(() => true));
    expect(admitted(cluster)).toEqual([false, false, false, false, true, true, true, true]);
    // A destination it needs there is admitted as any other.
    const withKubelet = { egress: { ...cluster.egress, allow: [{ cidr: '203.0.113.7/32', port: 10250 }] } };
    const objects = synthChart(withKubelet);
    const pod = podOf(objects, 'Deployment', 'buildkitd');
    expect([10250, 22].map((port) => egressAdmitted(objects, pod, { ip: '203.0.113.7' }, TCP(port)))).toEqual([true, false]);
    // Private places stay refused, and the public ones beside them reachable.
    expect(reachable(cluster)).toEqual(PUBLIC_AND_DNS);
  });

  const everyAddress = "it is every address of its family; give the cluster's own ranges, such as 203.0.113.0/24 or 2001:db8:42::/56";
  test.each([
    ['0.0.0.0/0', everyAddress],
    ['::/0', everyAddress],
    ['203.0.113.7/24', 'it has bits set past its prefix; use 203.0.113.0/24 for the range, or 203.0.113.7/32 for the one address'],
    ['203.0.113.0', 'use address/prefix such as 192.168.0.0/16'],
  ])('clusterCidrs %s is refused, one line', (cidr, fix) => {
    expect(() => synthChart({ egress: { clusterCidrs: ['198.51.100.0/24', cidr] } })).toThrow(
      new Error(`BuildkitEgressPolicy: invalid clusterCidrs[1] ${JSON.stringify(cidr)}: ${fix}`),
    );
  });

  test('clusterCidrs: the widest ranges short of every address are taken, and a string is no list', () => {
    const policy = synthChart({ egress: { clusterCidrs: ['128.0.0.0/1', '8000::/1'] } }).find(
      (o) => o.metadata.name === 'buildkitd-egress',
    );
    expect(policy.spec.egress[1].to.map((peer: any) => peer.ipBlock.except.at(-1))).toEqual(['128.0.0.0/1', '8000::/1']);
    expect(() => synthChart({ egress: { clusterCidrs: '203.0.113.0/24' as never } })).toThrow(
      /^BuildkitChart: invalid egress\.clusterCidrs "203\.0\.113\.0\/24": use a list of strings/,
    );
  });

  test("a tenant's own egress keeps the cluster's DNS pods and public ranges from the top level; its allow list is its own", () => {
    const openshift = { namespace: 'openshift-dns', podLabels: { 'dns.operator.openshift.io/daemonset-dns': 'default' }, port: 5353 };
    const charts = serviceCharts(new App(), {
      egress: { dns: openshift, clusterCidrs: ['203.0.113.0/24'], allow: [{ cidr: '192.168.1.20/32', port: 443 }] },
      tenants: [
        { name: 'team-a', loadBalancerIP: '10.0.0.1' },
        { name: 'team-b', loadBalancerIP: '10.0.0.2', egress: { allow: [{ cidr: '192.168.1.30/32', port: 22 }] } },
        { name: 'team-c', loadBalancerIP: '10.0.0.3', egress: { clusterCidrs: ['198.51.100.0/24'] } },
      ],
    });
    const reaches = (tenant: string) => {
      const objects = Testing.synth(charts.get(tenant)!);
      const pod = podOf(objects, 'Deployment', 'buildkitd');
      const dnsPod = { namespace: 'openshift-dns', labels: openshift.podLabels };
      return [
        egressAdmitted(objects, pod, { ip: '10.128.0.5', pod: dnsPod }, UDP(5353)),
        egressAdmitted(objects, pod, { ip: '203.0.113.9' }, TCP(443)),
        egressAdmitted(objects, pod, { ip: '198.51.100.9' }, TCP(443)),
        egressAdmitted(objects, pod, { ip: '192.168.1.20' }, TCP(443)),
        egressAdmitted(objects, pod, { ip: '192.168.1.30' }, TCP(22)),
      ];
    };
    expect(reaches('team-a')).toEqual([true, false, true, true, false]);
    expect(reaches('team-b')).toEqual([true, false, true, false, true]);
    // A tenant's own ranges replace the top level's, as its allow list does.
    expect(reaches('team-c')).toEqual([true, true, false, false, false]);
  });

  test('egress off: no egress policy, so every place is reachable', () => {
    const objects = synthChart({ egress: { enabled: false } });
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual(['buildkitd']);
    expect(reachable({ egress: { enabled: false } })).toEqual(Object.keys(PLACES));
  });

  test('native builders and StatefulSet pods are fenced in the same way', () => {
    const settings: BuildkitChartProps = {
      architecture: 'amd64',
      nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.111' }],
    };
    expect(reachable(settings, 'Deployment', 'buildkitd-arm64')).toEqual(PUBLIC_AND_DNS);
    expect(reachable({ workload: 'statefulset', replicas: 2 }, 'StatefulSet', 'buildkitd')).toEqual(PUBLIC_AND_DNS);
    const names = synthChart(settings)
      .filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => o.metadata.name);
    expect(names).toEqual(['buildkitd', 'buildkitd-egress', 'buildkitd-arm64', 'buildkitd-arm64-egress']);
  });

  test.each([
    [
      'a destination with no address or pods',
      { port: 3000 },
      /^BuildkitEgressPolicy: invalid allow\[0\] \{"port":3000\}: it names no destination/,
    ],
    [
      'a cidr with pod selectors',
      { cidr: '10.0.0.1/32', namespace: 'a', port: 1 },
      /^BuildkitEgressPolicy: invalid allow\[0\] .*: a cidr and pod selectors are two destinations; give each its own entry$/,
    ],
    [
      'a malformed cidr',
      { cidr: '10.0.0.1', port: 1 },
      /^BuildkitEgressPolicy: invalid allow\[0\]\.cidr "10\.0\.0\.1": use address\/prefix/,
    ],
    ['a port past 65535', { cidr: '10.0.0.1/32', port: 65536 }, /^BuildkitEgressPolicy: invalid allow\[0\]\.port 65536/],
    [
      'an unknown protocol',
      { cidr: '10.0.0.1/32', port: 1, protocol: 'SCTP' },
      /^BuildkitEgressPolicy: invalid allow\[0\]\.protocol "SCTP": use 'TCP' or 'UDP'$/,
    ],
    ['empty pod labels', { podLabels: {}, port: 1 }, /^BuildkitEgressPolicy: invalid allow\[0\]\.podLabels \{\}: it selects every pod/],
    ['a namespace that is no DNS label', { namespace: 'Gitea', port: 1 }, /^BuildkitEgressPolicy: invalid allow\[0\]\.namespace "Gitea"/],
    [
      'a label value with a space',
      { podLabels: { app: 'a b' }, port: 1 },
      /^BuildkitEgressPolicy: invalid allow\[0\]\.podLabels\["app"\] "a b"/,
    ],
    ['a port given as a string', { cidr: '10.0.0.1/32', port: '22' }, /^BuildkitChart: invalid egress\.allow\[0\]\.port "22"/],
  ])('refused, one line: %s', (_what, destination, message) => {
    expect(() => synthChart({ egress: { allow: [destination as any] } })).toThrow(message);
  });

  // The whole line, each naming where the setting is and giving an example of a good value.
  test.each([
    [
      { egress: { allow: [{ podLabels: { 'Bad Key': 'x' }, port: 1 }] } },
      'BuildkitEgressPolicy: invalid allow[0].podLabels key "Bad Key": use a Kubernetes label name, such as app.kubernetes.io/name',
    ],
    [
      { egress: { allow: [{ podLabels: { app: 'a b' }, port: 1 }] } },
      'BuildkitEgressPolicy: invalid allow[0].podLabels["app"] "a b": use a Kubernetes label value, such as gitea',
    ],
    [
      { egress: { allow: [{ cidr: '10.0.0.1/32', podLabels: { app: 'x' }, port: 1 }] } },
      'BuildkitEgressPolicy: invalid allow[0] {"cidr":"10.0.0.1/32","podLabels":{"app":"x"},"port":1}: a cidr and pod selectors are two destinations; give each its own entry',
    ],
    [{ egress: { dns: { port: 0 } } }, 'BuildkitEgressPolicy: invalid dns.port 0: use a whole number from 1 to 65535'],
    [
      { egress: { dns: { podLabels: { 'k8s-app': 'a b' } } } },
      'BuildkitEgressPolicy: invalid dns.podLabels["k8s-app"] "a b": use a Kubernetes label value, such as gitea',
    ],
    [
      { networkPolicy: { allowedNamespaces: ['Bad'] } },
      'BuildkitNetworkPolicy: invalid allowedNamespaces entry "Bad": use a DNS label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit',
    ],
  ])('refused with the line that names it: %j', (settings, line) => {
    expect(() => synthChart(settings as BuildkitChartProps)).toThrow(new Error(line));
  });

  test('a namespace alone admits every pod in it: a namespace selector and no pod selector', () => {
    const settings: BuildkitChartProps = { egress: { allow: [{ namespace: 'artifacts', port: 8081 }] } };
    const policy = synthChart(settings).find((o) => o.metadata.name === 'buildkitd-egress');
    expect(policy.spec.egress[2].to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'artifacts' } } }]);
  });

  test('what the diagram says each destination is: its range, or its namespace and pods, and its port', () => {
    const allow: EgressDestination[] = [
      { cidr: '192.168.1.20/32', port: 3000, protocol: 'UDP' },
      { namespace: 'artifacts', port: 8081 },
      { podLabels: { app: 'nexus', tier: 'proxy' }, port: 8082 },
      { namespace: 'git', podLabels: { 'app.kubernetes.io/instance': 'gitea', app: 'gitea' }, port: 22 },
    ];
    const chart = new BuildkitChart(Testing.app(), 'buildkit', { egress: { allow } });
    const policy = chart.node.findAll().find((c): c is BuildkitEgressPolicy => c instanceof BuildkitEgressPolicy)!;
    expect(policy.admits).toEqual([
      'cluster DNS',
      'public addresses',
      '192.168.1.20/32 port 3000/UDP',
      'namespace artifacts port 8081',
      'pods app=nexus,tier=proxy port 8082',
      'namespace git pods gitea port 22',
    ]);
    const onPublicAddresses = new BuildkitChart(Testing.app(), 'buildkit', {
      egress: { clusterCidrs: ['203.0.113.0/24', '2001:db8:42::/56'] },
    });
    const fenced = onPublicAddresses.node.findAll().find((c): c is BuildkitEgressPolicy => c instanceof BuildkitEgressPolicy)!;
    expect(fenced.admits).toEqual(['cluster DNS', 'public addresses but 203.0.113.0/24, 2001:db8:42::/56']);
  });

  test('the edges: port 1 and 65535, a /16 and a /32, UDP', () => {
    const allow = [
      { cidr: '10.9.0.0/16', port: 1 },
      { cidr: '192.168.7.7/32', port: 65535, protocol: 'UDP' as const },
    ];
    const objects = synthChart({ egress: { allow } });
    const pod = podOf(objects, 'Deployment', 'buildkitd');
    expect(egressAdmitted(objects, pod, { ip: '10.9.255.255' }, TCP(1))).toBe(true);
    expect(egressAdmitted(objects, pod, { ip: '192.168.7.7' }, UDP(65535))).toBe(true);
    expect(egressAdmitted(objects, pod, { ip: '192.168.7.7' }, TCP(65535))).toBe(false);
    expect(() => synthChart({ egress: { allow: [{ cidr: '10.0.0.0/33', port: 1 }] } })).toThrow(/allow\[0\]\.cidr "10\.0\.0\.0\/33"/);
  });
});

describe('ingress: who reaches the build port, on by default', () => {
  const objects = synthChart({ metrics: {} });
  const daemon = podOf(objects, 'Deployment', 'buildkitd');
  const reach = (peer: Peer, port: number) => ingressAdmitted(objects, daemon, peer, TCP(port));

  test('the build port from the private ranges (nodes, behind the LoadBalancer) and pods of any namespace; not from the internet', () => {
    expect(reach({ ip: '192.168.1.10' }, 1234)).toBe(true);
    expect(reach({ ip: '10.42.1.7', pod: { namespace: 'ci', labels: {} } }, 1234)).toBe(true);
    expect(reach({ ip: '8.8.8.8' }, 1234)).toBe(false);
  });

  test('the metrics port (and pprof) from the monitoring namespace only', () => {
    expect(reach({ ip: '10.42.9.9', pod: { namespace: 'monitoring', labels: {} } }, 6060)).toBe(true);
    expect(reach({ ip: '10.42.1.7', pod: { namespace: 'ci', labels: {} } }, 6060)).toBe(false);
    expect(reach({ ip: '192.168.1.10' }, 6060)).toBe(false);
  });

  test('turned off: the build port from anywhere, the metrics port still from monitoring only', () => {
    const open = synthChart({ metrics: {}, networkPolicy: { enabled: false } });
    const pod = podOf(open, 'Deployment', 'buildkitd');
    expect(ingressAdmitted(open, pod, { ip: '8.8.8.8' }, TCP(1234))).toBe(true);
    expect(ingressAdmitted(open, pod, { ip: '8.8.8.8' }, TCP(6060))).toBe(false);
    expect(synthChart({ networkPolicy: { enabled: false }, egress: { enabled: false } }).filter((o) => o.kind === 'NetworkPolicy')).toEqual(
      [],
    );
  });
});

describe('BuildkitNetworkPolicy used on its own, in a chart of your own', () => {
  const daemonIn = () => {
    const chart = new Chart(Testing.app(), 'team');
    return {
      chart,
      daemon: new BuildkitDaemon(chart, 'Daemon', { tls: new TlsBundle(chart, 'Tls'), cache: new CacheVolume(chart, 'Cache') }),
    };
  };

  test.each([
    [
      { typo: 1 },
      'BuildkitNetworkPolicy: unknown setting "typo": the settings here are daemon, allowedCidrs, allowedNamespaces, monitoringNamespace, openBuildPort',
    ],
    [
      { monitoringNamespace: 'Bad' },
      'BuildkitNetworkPolicy: invalid monitoringNamespace "Bad": use a DNS label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit',
    ],
  ])('refuses %j with one line', (props, line) => {
    const { chart, daemon } = daemonIn();
    expect(() => new BuildkitNetworkPolicy(chart, 'Policy', { daemon, ...(props as object) })).toThrow(new Error(line));
  });
});
