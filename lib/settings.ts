/**
 * The seed's facts that the chart and the certificate commands must agree on. Both read them from here,
 * so a server certificate's SANs and the Services it protects cannot drift apart.
 */
export const SEED = {
  namespace: 'buildkit',
  name: 'buildkitd',
  loadBalancerIP: '192.168.80.110',
  port: 1234,
  clusterDomain: 'cluster.local',
  certSecretName: 'buildkit-daemon-certs',
  // Pinned by the multi-arch index digest (the tag is for people); Renovate moves both together
  // (renovate.json). Evidence: README, "Images".
  image: 'moby/buildkit:v0.32.2-rootless@sha256:504731e577c20559c00f968f33219f30115e70be29ab96728d1d06e963fc494b',
  registryCacheImage: 'registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373',
} as const;

/** Where clients reach the daemons: every Service name and LoadBalancer IP that serves the daemon certificate. */
export interface Endpoint {
  /** Service names; the first is the main one. */
  readonly names: readonly string[];
  readonly namespace: string;
  readonly clusterDomain: string;
  /** LoadBalancer IPs; the first is the main one. */
  readonly ips: readonly string[];
  readonly port: number;
  /** Headless Services whose pods clients may dial by name (`<pod>.<headless>.<namespace>.svc...`). */
  readonly headlessServices?: readonly string[];
}

/** The DNS names a pod resolves for a Service, shortest first. */
export function serviceDnsNames(name: string, e: Pick<Endpoint, 'namespace' | 'clusterDomain'>): string[] {
  return [name, `${name}.${e.namespace}`, `${name}.${e.namespace}.svc`, `${name}.${e.namespace}.svc.${e.clusterDomain}`];
}

/**
 * Every name and address the server certificate must cover: each Service's DNS names and IPs, a wildcard
 * for StatefulSet pods, and the localhost names `kubectl port-forward` clients dial.
 */
export function serverSans(e: Endpoint): { dnsNames: string[]; ips: string[] } {
  const pods = (e.headlessServices ?? []).map((h) => `*.${h}.${e.namespace}.svc.${e.clusterDomain}`);
  return { dnsNames: [...e.names.flatMap((n) => serviceDnsNames(n, e)), ...pods, 'localhost'], ips: [...e.ips, '127.0.0.1'] };
}
