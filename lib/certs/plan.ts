import { Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { KubeNamespace } from '../../imports/k8s';
import { BuildkitChart } from '../buildkit-chart';
import { BuildkitDaemon } from '../buildkit-daemon';
import { BuildkitService } from '../buildkit-service';
import { constructsOf } from '../construct-tree';
import { SEED, serverSans } from '../settings';

/** How a client reaches a daemon: one Service's address, and the platform of the daemons behind it. */
export interface ClientEndpoint {
  /** The Service's name. */
  readonly name: string;
  readonly address: string;
  /** `linux/<arch>` when the daemons are pinned to an architecture. */
  readonly platform?: string;
  /** The one pod it reaches, for a per-replica address. */
  readonly pod?: string;
}

/** One TlsBundle's Secret: where it goes and what its server certificate must cover. */
export interface ServerPlan {
  readonly secretName: string;
  readonly namespace: string;
  /** The first Service's name (or the daemon's, when nothing exposes it). */
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
  /** The SANs as `DNS:name` and `IP:address`, as the certificate lists them. */
  readonly sans: readonly string[];
  readonly endpoints: readonly ClientEndpoint[];
}

/** What the certificate commands serve, read from the construct tree (style rule 8). */
export interface CertsPlan {
  /** One per TlsBundle Secret, in tree order. */
  readonly servers: readonly ServerPlan[];
  /** Where the in-cluster client Secret goes. */
  readonly clientNamespace: string;
  /** The namespaces GitOps must find before it applies secrets/apps, with the Pod Security labels the tree gives them. */
  readonly namespaces: ReadonlyArray<{ readonly name: string; readonly labels?: Readonly<Record<string, string>> }>;
}

/**
 * Every daemon in the app (a BuildkitChart, examples/arm64-builder, a consumer's own chart), grouped by the
 * Secret it mounts, with the Services that reach it: what the certificates must cover.
 */
export function certsPlan(root: IConstruct): CertsPlan {
  const daemons = constructsOf(root, BuildkitDaemon);
  if (daemons.length === 0) throw new Error('the app holds no BuildkitDaemon: give the command the chart that composes one');
  const services = constructsOf(root, BuildkitService);
  const namespaceOf = (c: IConstruct) => Chart.of(c).namespace ?? 'default';
  const groups = new Map<string, BuildkitDaemon[]>();
  for (const daemon of daemons) {
    const key = `${namespaceOf(daemon)}/${daemon.tls.secretName}`;
    const other = [...groups.keys()].find((k) => k.split('/')[1] === daemon.tls.secretName && k !== key);
    if (other) {
      throw new Error(
        `Secret ${daemon.tls.secretName} is mounted in namespaces ${other.split('/')[0]} and ${namespaceOf(daemon)}; ` +
          'secrets/apps names files after the Secret: give each TlsBundle its own secretName',
      );
    }
    groups.set(key, [...(groups.get(key) ?? []), daemon]);
  }
  const servers = [...groups.values()].map((group): ServerPlan => {
    const reaching = services.filter((s) => group.includes(s.daemon));
    const namespace = namespaceOf(group[0]);
    const sans = serverSans({
      names: reaching.map((s) => s.name),
      namespace,
      clusterDomain: reaching[0]?.clusterDomain ?? SEED.clusterDomain,
      ips: reaching.map((s) => s.loadBalancerIP),
      port: reaching[0]?.port ?? group[0].port,
      headlessServices: group.flatMap((d) => (d.headlessService ? [d.headlessService.name] : [])),
    });
    return {
      secretName: group[0].tls.secretName,
      namespace,
      commonName: reaching[0]?.name ?? group[0].name,
      ...sans,
      sans: [...sans.dnsNames.map((n) => `DNS:${n}`), ...sans.ips.map((ip) => `IP:${ip}`)],
      endpoints: reaching.map((s) => ({
        name: s.name,
        address: `tcp://${s.loadBalancerIP}:${s.port}`,
        platform: s.daemon.architecture ? `linux/${s.daemon.architecture}` : undefined,
        ...(s.podName ? { pod: s.podName } : {}),
      })),
    };
  });
  const chart = constructsOf(root, BuildkitChart)[0];
  const clientNamespace = chart?.clientNamespace ?? servers[0].namespace;
  const created = new Map(
    constructsOf(root, KubeNamespace).map((ns) => [
      ns.name,
      (ns.toJson() as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {},
    ]),
  );
  const namespaces = [...new Set([...servers.map((s) => s.namespace), clientNamespace])].map((name) => {
    const labels = Object.fromEntries(
      Object.entries(created.get(name) ?? {}).filter(([k]) => k.startsWith('pod-security.kubernetes.io/enforce')),
    ) as Record<string, string>;
    return Object.keys(labels).length ? { name, labels } : { name };
  });
  return { servers, clientNamespace, namespaces };
}
