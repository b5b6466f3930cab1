import { isIPv4 } from 'node:net';
import { Construct } from 'constructs';
import { IntOrString, KubeNetworkPolicy, type NetworkPolicyPeer } from '../imports/k8s';
import { checkCidr } from './addresses';
import type { BuildkitDaemon } from './buildkit-daemon';
import { MANAGED_BY } from './labels';
import { checkKnownKeys, type PropsShape } from './props-shape';
import { checkDnsLabel, checkLabelName, checkLabelValue, checkPort } from './validation';

/** A destination on a private network that build steps may reach: an address range, or pods, on one port. */
export interface EgressDestination {
  /**
   * Its addresses, such as 192.168.1.20/32 (a git server, a registry, a package proxy).
   * @default - none: give namespace or podLabels instead
   */
  readonly cidr?: string;
  /**
   * The namespace of its pods.
   * @default - the daemon's namespace, when podLabels is given
   */
  readonly namespace?: string;
  /**
   * The labels of its pods.
   * @default - every pod in namespace
   */
  readonly podLabels?: Readonly<Record<string, string>>;
  /** The port it listens on (a pod's own port: a policy sees traffic after the Service's translation). */
  readonly port: number;
  /**
   * @default 'TCP'
   */
  readonly protocol?: 'TCP' | 'UDP';
}

/** Where the cluster's DNS pods run; distributions label them differently. */
export interface ClusterDnsSettings {
  /**
   * Their namespace.
   * @default 'kube-system'
   */
  readonly namespace?: string;
  /**
   * Their labels: CoreDNS carries `k8s-app: kube-dns` on kubeadm, k3s, RKE2, EKS and GKE; OpenShift's are
   * `dns.operator.openshift.io/daemonset-dns: default` in openshift-dns.
   * @default { 'k8s-app': 'kube-dns' }
   */
  readonly podLabels?: Readonly<Record<string, string>>;
  /**
   * The port the pods listen on (OpenShift's: 5353).
   * @default 53
   */
  readonly port?: number;
}

export interface BuildkitEgressPolicyProps {
  /** The daemon whose pods (and so whose build steps) the policy fences in. */
  readonly daemon: BuildkitDaemon;
  /**
   * Destinations on private networks the pods may reach besides DNS and the internet.
   * @default - none
   */
  readonly allow?: readonly EgressDestination[];
  /**
   * The cluster's DNS pods.
   * @default { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, port: 53 }
   */
  readonly dns?: ClusterDnsSettings;
  /**
   * The cluster's own addresses outside the private ranges, kept out of "the internet" as those are: public
   * node addresses (cloud and VPS nodes), globally routed IPv6 pod and Service prefixes, a public API endpoint.
   * @default - none: the cluster's pods, Services, nodes and API are all in private ranges
   */
  readonly clusterCidrs?: readonly string[];
}

const DESTINATION_SHAPE: PropsShape<EgressDestination> = {
  cidr: 'string',
  namespace: 'string',
  podLabels: 'record',
  port: 'number',
  protocol: 'string',
};
export const DNS_SHAPE: PropsShape<ClusterDnsSettings> = { namespace: 'string', podLabels: 'record', port: 'number' };
export const EGRESS_POLICY_SHAPE: PropsShape<BuildkitEgressPolicyProps> = {
  daemon: 'object',
  allow: [DESTINATION_SHAPE],
  dns: DNS_SHAPE,
  clusterCidrs: 'strings',
};

/**
 * What "the internet" excludes: private (RFC 1918, ULA), loopback, link-local (the cloud metadata address
 * 169.254.169.254 among them) and CGNAT ranges, where the cluster's pods, Services, nodes and API live; and the
 * same IPv4 ranges behind NAT64's well-known prefix (64:ff9b::/96), where an IPv6-only pod could reach them
 * through a translator that, against RFC 6052, translates them.
 */
export const NON_PUBLIC_RANGES = {
  ipv4: ['10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16'],
  ipv6: [
    '::1/128',
    'fc00::/7',
    'fe80::/10',
    '64:ff9b::a00:0/104',
    '64:ff9b::6440:0/106',
    '64:ff9b::7f00:0/104',
    '64:ff9b::a9fe:0/112',
    '64:ff9b::ac10:0/108',
    '64:ff9b::c0a8:0/112',
  ],
} as const;

const OWNER = 'BuildkitEgressPolicy';

function podsPeer(
  namespace: string | undefined,
  podLabels: Readonly<Record<string, string>> | undefined,
  where: string,
): NetworkPolicyPeer {
  if (namespace !== undefined) checkDnsLabel(OWNER, `${where}.namespace`, namespace);
  // An empty selector selects every pod: name the pods, or leave podLabels out to mean the whole namespace.
  if (podLabels !== undefined && Object.keys(podLabels).length === 0) {
    throw new Error(`${OWNER}: invalid ${where}.podLabels {}: it selects every pod; give the pods' labels, or leave it out`);
  }
  for (const [key, value] of Object.entries(podLabels ?? {})) {
    checkLabelName(OWNER, `${where}.podLabels key`, key, 'app.kubernetes.io/name');
    checkLabelValue(OWNER, `${where}.podLabels["${key}"]`, value, 'gitea');
  }
  return {
    ...(namespace === undefined ? {} : { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } }),
    ...(podLabels === undefined ? {} : { podSelector: { matchLabels: { ...podLabels } } }),
  };
}

function destinationRule(d: EgressDestination, where: string) {
  const protocol = d.protocol ?? 'TCP';
  if (protocol !== 'TCP' && protocol !== 'UDP') {
    throw new Error(`${OWNER}: invalid ${where}.protocol ${JSON.stringify(protocol)}: use 'TCP' or 'UDP'`);
  }
  const ports = [{ port: IntOrString.fromNumber(checkPort(OWNER, `${where}.port`, d.port)), protocol }];
  if (d.cidr !== undefined) {
    if (d.namespace !== undefined || d.podLabels !== undefined) {
      throw new Error(
        `${OWNER}: invalid ${where} ${JSON.stringify(d)}: a cidr and pod selectors are two destinations; give each its own entry`,
      );
    }
    return { to: [{ ipBlock: { cidr: checkCidr(OWNER, `${where}.cidr`, d.cidr) } }], ports };
  }
  if (d.namespace === undefined && d.podLabels === undefined) {
    throw new Error(`${OWNER}: invalid ${where} ${JSON.stringify(d)}: it names no destination; give cidr, or namespace and podLabels`);
  }
  return { to: [podsPeer(d.namespace, d.podLabels, where)], ports };
}

/** Destinations checked as `allow` lists them, for a caller that adds its own before them (the chart). */
export function checkEgressDestinations(allow: readonly EgressDestination[]): void {
  for (const [i, d] of allow.entries()) destinationRule(d, `allow[${i}]`);
}

/** A range carved out of the internet rule: the API server takes only a strict subset of 0.0.0.0/0 or ::/0 there. */
function clusterRange(cidr: string, where: string): string {
  checkCidr(OWNER, where, cidr);
  if (cidr.endsWith('/0')) {
    throw new Error(
      `${OWNER}: invalid ${where} ${JSON.stringify(cidr)}: it is every address of its family; give the cluster's own ranges, such as 203.0.113.0/24 or 2001:db8:42::/56`,
    );
  }
  return cidr;
}

/** A destination in a few words: its range or its pods, and its port. */
function describe(d: EgressDestination): string {
  const labels = d.podLabels ?? {};
  const instance = labels['app.kubernetes.io/instance'];
  const pods = instance ? [instance] : Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const where =
    d.cidr ?? [d.namespace && `namespace ${d.namespace}`, pods.length > 0 && `pods ${pods.join(',')}`].filter(Boolean).join(' ');
  return `${where} port ${d.port}${d.protocol === 'UDP' ? '/UDP' : ''}`;
}

/**
 * Egress from the daemon's pods, and so from every build step (rootless BuildKit runs them in the pod's
 * network): DNS, the internet, and the private destinations named; nothing else in the cluster or its networks.
 */
export class BuildkitEgressPolicy extends Construct {
  public readonly resource: KubeNetworkPolicy;
  /** The daemon it fences in. */
  public readonly daemon: BuildkitDaemon;
  /** What it admits, one short line each (for the README's diagram). */
  public readonly admits: readonly string[];

  constructor(scope: Construct, id: string, props: BuildkitEgressPolicyProps) {
    super(scope, id);
    checkKnownKeys(OWNER, props, EGRESS_POLICY_SHAPE);
    const { daemon } = props;
    this.daemon = daemon;
    const dns = props.dns ?? {};
    const dnsPort = checkPort(OWNER, 'dns.port', dns.port ?? 53);
    const dnsRule = {
      to: [podsPeer(dns.namespace ?? 'kube-system', dns.podLabels ?? { 'k8s-app': 'kube-dns' }, 'dns')],
      ports: (['UDP', 'TCP'] as const).map((protocol) => ({ port: IntOrString.fromNumber(dnsPort), protocol })),
    };
    const cluster = (props.clusterCidrs ?? []).map((cidr, i) => clusterRange(cidr, `clusterCidrs[${i}]`));
    const ofFamily = (ipv4: boolean) => cluster.filter((cidr) => isIPv4(cidr.split('/')[0]) === ipv4);
    const internet = {
      to: [
        { ipBlock: { cidr: '0.0.0.0/0', except: [...NON_PUBLIC_RANGES.ipv4, ...ofFamily(true)] } },
        { ipBlock: { cidr: '::/0', except: [...NON_PUBLIC_RANGES.ipv6, ...ofFamily(false)] } },
      ],
    };
    const allowed = (props.allow ?? []).map((d, i) => destinationRule(d, `allow[${i}]`));
    const publicAddresses = cluster.length ? `public addresses but ${cluster.join(', ')}` : 'public addresses';
    this.admits = ['cluster DNS', publicAddresses, ...(props.allow ?? []).map(describe)];
    this.resource = new KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: `${daemon.name}-egress`, labels: { ...daemon.selectorLabels, ...MANAGED_BY } },
      spec: {
        podSelector: { matchLabels: daemon.selectorLabels },
        policyTypes: ['Egress'],
        egress: [dnsRule, internet, ...allowed],
      },
    });
  }
}

/**
 * The registries and mirrors given by IPv4 address, each on its port (443, or 80 over plain HTTP): a name
 * cannot be resolved at synth time, so only these are admitted without an `allow` entry.
 */
export function addressedRegistries(
  registries: Readonly<Record<string, { readonly mirrors?: readonly string[]; readonly http?: boolean }>>,
) {
  const hosts = new Set(Object.entries(registries).flatMap(([host, r]) => [host, ...(r.mirrors ?? [])]));
  const found = new Map<string, EgressDestination>();
  for (const host of hosts) {
    const [address, port] = host.split(':');
    if (!isIPv4(address)) continue;
    const destination = { cidr: `${address}/32`, port: port ? Number(port) : registries[host]?.http ? 80 : 443 };
    found.set(`${destination.cidr}:${destination.port}`, destination);
  }
  return [...found.values()];
}
