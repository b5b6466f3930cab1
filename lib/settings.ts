/**
 * The seed's facts that the chart and the certificate commands must agree on. Both read them from here,
 * so a server certificate's SANs and the Service it protects cannot drift apart.
 */
export const SEED = {
  namespace: 'buildkit',
  name: 'buildkitd',
  loadBalancerIP: '192.168.80.110',
  port: 1234,
  clusterDomain: 'cluster.local',
  certSecretName: 'buildkit-daemon-certs',
  image: 'moby/buildkit:v0.27.1-rootless',
} as const;

/** Where a client reaches the daemon: the Service's name and namespace, the cluster domain, LoadBalancer IPs and port. */
export interface Endpoint {
  readonly name: string;
  readonly namespace: string;
  readonly clusterDomain: string;
  readonly ips: readonly string[];
  readonly port: number;
}

/** The DNS names a pod resolves for a Service, shortest first. */
export function serviceDnsNames(e: Pick<Endpoint, 'name' | 'namespace' | 'clusterDomain'>): string[] {
  return [e.name, `${e.name}.${e.namespace}`, `${e.name}.${e.namespace}.svc`, `${e.name}.${e.namespace}.svc.${e.clusterDomain}`];
}

/** Every name and address the server certificate must cover: the Service's DNS names and IPs, plus the
 * localhost names `kubectl port-forward` clients dial. */
export function serverSans(e: Endpoint): { dnsNames: string[]; ips: string[] } {
  return { dnsNames: [...serviceDnsNames(e), 'localhost'], ips: [...e.ips, '127.0.0.1'] };
}
