import { BlockList, isIP } from 'node:net';

// A small evaluator of Kubernetes NetworkPolicy rules, as the API documents them: a pod that no policy of a
// type selects admits all of that direction; otherwise a connection passes when one rule of one selecting
// policy admits both its peer and its port. An absent or empty `to`/`from` or `ports` means everyone or every
// port; `except` carves ranges out of an ipBlock; a peer with only podSelector means the policy's namespace.

export interface Pod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The other end of a connection: an address, and the pod behind it if it is one. */
export interface Peer {
  readonly ip: string;
  readonly pod?: Pod;
}

export interface Connection {
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export function selects(selector: Selector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key]);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        throw new Error(`unknown selector operator ${operator}`);
    }
  });
  return byLabel && byExpression;
}

function inCidr(ip: string, cidr: string): boolean {
  const [address, prefix] = cidr.split('/');
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  if ((isIP(ip) === 4 ? 'ipv4' : 'ipv6') !== family) return false;
  const list = new BlockList();
  list.addSubnet(address, Number(prefix), family);
  return list.check(ip, family);
}

/** The labels Kubernetes gives every namespace. */
const namespaceLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });

function peerMatches(peer: any, other: Peer, policyNamespace: string): boolean {
  if (peer.ipBlock) {
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => inCidr(other.ip, c));
  }
  if (!other.pod) return false;
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, namespaceLabels(other.pod.namespace))
    : other.pod.namespace === policyNamespace;
  return namespaceOk && selects(peer.podSelector, other.pod.labels);
}

function portMatches(ports: any[] | undefined, c: Connection): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== (c.protocol ?? 'TCP')) return false;
    if (p.port === undefined) return true;
    return p.endPort === undefined ? p.port === c.port : c.port >= p.port && c.port <= p.endPort;
  });
}

function policyTypes(policy: any): string[] {
  return policy.spec.policyTypes ?? ['Ingress', ...(policy.spec.egress ? ['Egress'] : [])];
}

function admitted(policies: any[], pod: Pod, direction: 'Ingress' | 'Egress', other: Peer, c: Connection): boolean {
  const selecting = policies.filter(
    (p) =>
      p.kind === 'NetworkPolicy' &&
      p.metadata.namespace === pod.namespace &&
      selects(p.spec.podSelector, pod.labels) &&
      policyTypes(p).includes(direction),
  );
  if (selecting.length === 0) return true;
  const field = direction === 'Egress' ? 'to' : 'from';
  return selecting.some((p) =>
    (p.spec[direction.toLowerCase()] ?? []).some(
      (rule: any) =>
        portMatches(rule.ports, c) &&
        (!rule[field] || rule[field].length === 0 || rule[field].some((peer: any) => peerMatches(peer, other, p.metadata.namespace))),
    ),
  );
}

/** May `from` open this connection to `to`? */
export const egressAdmitted = (policies: any[], from: Pod, to: Peer, c: Connection) => admitted(policies, from, 'Egress', to, c);

/** May `from` reach the pod `to` on this port? */
export const ingressAdmitted = (policies: any[], to: Pod, from: Peer, c: Connection) => admitted(policies, to, 'Ingress', from, c);

/** A workload's pods, as the policies see them: its namespace and its template's labels. */
export function podOf(objects: any[], kind: string, name: string): Pod {
  const workload = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!workload) throw new Error(`no ${kind} ${name}`);
  return { namespace: workload.metadata.namespace, labels: workload.spec.template.metadata.labels };
}
