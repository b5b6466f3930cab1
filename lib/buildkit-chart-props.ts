import { ALERT_THRESHOLDS_SHAPE } from './buildkit-alerts';
import type {
  EgressSettings,
  MetricsSettings,
  NativeBuilder,
  NetworkPolicySettings,
  SeccompProfileSettings,
} from './buildkit-chart-settings';
import type { BuildkitDaemonProps, DaemonResources, PodSecurityLevel, WorkloadKind } from './buildkit-daemon';
import { DAEMON_PROPS_SHAPE, DAEMON_RESOURCES_SHAPE } from './buildkit-daemon';
import { EGRESS_POLICY_SHAPE } from './buildkit-egress-policy';
import { NETWORK_POLICY_SHAPE } from './buildkit-network-policy';
import type { LoadBalancerImplementation } from './buildkit-service';
import type { CacheVolumeProps } from './cache-volume';
import { CACHE_VOLUME_SHAPE } from './cache-volume';
import type { PropsShape } from './props-shape';
import { REGISTRY_CACHE_SHAPE, type RegistryCacheProps } from './registry-cache';

// BuildkitChartProps, the settings config.ts holds, each documented where users read it; the nested ones are in
// buildkit-chart-settings.ts.

/** Daemon settings the chart passes to every daemon as they are (documented on BuildkitDaemonProps). */
const SHARED_DAEMON_SETTINGS = [
  'maxParallelism',
  'history',
  'seLinuxType',
  'registries',
  'registryCaCertificates',
  'registryKeypairSecret',
  'runtimeDefaultCapabilities',
  'cacheGuard',
  'scheduling',
] as const;
type SharedDaemonSettings = Pick<BuildkitDaemonProps, (typeof SHARED_DAEMON_SETTINGS)[number]>;

export interface BuildkitChartProps extends SharedDaemonSettings {
  /**
   * Namespace of every object; the chart creates it and labels its Pod Security, so never `default` or `kube-*`.
   * @default 'buildkit'
   */
  readonly namespace?: string;

  /**
   * Namespace of the in-cluster client Secret `buildkit-client-certs`: where the CI jobs that mount it run.
   * `npm run certs -- sync` moves the Secret when this changes.
   * @default - the service's namespace
   */
  readonly clientNamespace?: string;

  /**
   * Name of the workload and its Service.
   * @default 'buildkitd'
   */
  readonly name?: string;

  /**
   * Number of daemons; 0 parks the builder (every object stays, no pod runs).
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Deployment, or StatefulSet (stable pod names; with a persistent cache, one Longhorn claim per replica).
   * @default 'deployment'
   */
  readonly workload?: WorkloadKind;

  /**
   * Rootless BuildKit image, pinned to a release by tag and digest.
   * @default 'moby/buildkit:v0.32.2-rootless@sha256:504731e577c20559c00f968f33219f30115e70be29ab96728d1d06e963fc494b'
   */
  readonly image?: string;

  /**
   * The image is a rootless BuildKit build although its tag does not say `rootless` (a digest, a mirror).
   * @default - only images whose tag contains `rootless` are accepted
   */
  readonly imageIsRootless?: boolean;

  /**
   * The Service's LoadBalancer address, asked of MetalLB (or of what `loadBalancer` names).
   * @default '192.168.80.110'
   */
  readonly loadBalancerIP?: string;

  /**
   * One more LoadBalancer per StatefulSet replica, in order (`<name>-0` gets the first IP), so that CI can pin
   * a repository to one warm cache. Needs workload 'statefulset' and exactly one IP per replica.
   * @default - only the shared LoadBalancer
   */
  readonly perReplicaIPs?: readonly string[];

  /**
   * Port of the daemon and the Services. Under 1024, the pods lower `net.ipv4.ip_unprivileged_port_start` to
   * it (a safe sysctl baseline admits): the rootless daemon cannot bind such a port otherwise.
   * @default 1234
   */
  readonly port?: number;

  /**
   * The cache volume. With workload 'statefulset' a persistent cache is a claim per replica.
   * @default - ephemeral, 50Gi
   */
  readonly cache?: Omit<CacheVolumeProps, 'perReplica'>;

  /**
   * Container resources of every daemon.
   * @default - requests 500m CPU and memory equal to the memory limit; memory limit 2Gi per parallel step plus
   * 2Gi for the daemon (6Gi at the default parallelism of 2); no CPU limit
   */
  readonly resources?: DaemonResources;

  /**
   * The Pod Security level of the namespace: 'privileged' (seccomp and AppArmor Unconfined) or 'baseline'
   * (hardened mode: a Localhost seccomp profile, no Unconfined; see README, "Hardened mode").
   * @default 'privileged'
   */
  readonly podSecurity?: PodSecurityLevel;

  /**
   * Hardened mode: how the seccomp profile reaches the nodes.
   * @default { install: 'operator' }
   */
  readonly seccompProfile?: SeccompProfileSettings;

  /**
   * Hardened mode: the Localhost AppArmor profile loaded on AppArmor nodes (profiles/apparmor/buildkit-rootless).
   * @default - no AppArmor setting (nodes without AppArmor)
   */
  readonly appArmorProfile?: string;

  /**
   * A pull-through cache of Docker Hub (or `upstream`) beside the daemons; every daemon lists it as the
   * `docker.io` mirror. `size` is required.
   * @default - no cache
   */
  readonly registryCache?: Omit<RegistryCacheProps, 'clientLabels'>;

  /**
   * ClientIP affinity on the shared LoadBalancer when replicas > 1.
   * @default 10800
   */
  readonly sessionAffinityTimeoutSeconds?: number;

  /**
   * The LoadBalancers' externalTrafficPolicy; 'Local' keeps client addresses visible to the NetworkPolicy.
   * @default - 'Cluster'
   */
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';

  /**
   * How long a stopping daemon waits for running builds.
   * @default 1800
   */
  readonly drainTimeoutSeconds?: number;

  /**
   * Pin the daemon to nodes of this architecture, such as 'amd64'.
   * @default - any node
   */
  readonly architecture?: string;

  /**
   * Daemons for other architectures, each with its own name, Service and IP. Needs `architecture`: an unpinned
   * main daemon could run on their nodes.
   * @default - none
   */
  readonly nativeBuilders?: readonly NativeBuilder[];

  /**
   * Serve Prometheus metrics.
   * @default - no metrics endpoint
   */
  readonly metrics?: MetricsSettings;

  /**
   * Who may reach the build port: a NetworkPolicy per daemon.
   * @default - the private ranges and every namespace
   */
  readonly networkPolicy?: NetworkPolicySettings;

  /**
   * What build steps may reach: a NetworkPolicy per daemon that admits DNS, the registry cache, registries
   * given by IP in `registries`, the destinations in `allow`, and public addresses only.
   * @default - on, with nothing in allow
   */
  readonly egress?: EgressSettings;

  /**
   * Cluster DNS domain, for the names the server certificate must cover.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;

  /**
   * The daemon's certificate Secret.
   * @default 'buildkit-daemon-certs'
   */
  readonly certSecretName?: string;

  /**
   * Changes whenever the certificates change; rolls the pods (see TlsBundleProps.revision).
   * @default - only a change of certSecretName rolls the pods
   */
  readonly certRevision?: string;

  /**
   * What assigns LoadBalancer addresses: 'metallb', 'cilium' (LB IPAM) or 'kube-vip'.
   * @default 'metallb'
   */
  readonly loadBalancer?: LoadBalancerImplementation;

  /**
   * MetalLB address pool.
   * @default - MetalLB picks the pool that holds the IP
   */
  readonly addressPool?: string;

  /**
   * MetalLB's pre-0.14 `metallb.universe.tf/` annotations.
   * @default false
   */
  readonly legacyMetallbAnnotations?: boolean;

  /**
   * The AppArmor annotation instead of the field, for Kubernetes < 1.30.
   * @default false
   */
  readonly legacyAppArmorAnnotation?: boolean;
}

const { daemon: _daemon, monitoringNamespace: _monitoring, openBuildPort: _open, ...networkPolicyShape } = NETWORK_POLICY_SHAPE;
const { perReplica: _perReplica, ...cacheShape } = CACHE_VOLUME_SHAPE;
const { daemon: _egressDaemon, ...egressShape } = EGRESS_POLICY_SHAPE;
const { clientLabels: _clientLabels, ...registryCacheShape } = REGISTRY_CACHE_SHAPE;
/** Every setting config.ts may hold, for the unknown-key check (tsc keeps it complete). */
export const CHART_PROPS_SHAPE: PropsShape<BuildkitChartProps> = {
  namespace: 'string',
  clientNamespace: 'string',
  name: 'string',
  replicas: 'number',
  workload: 'string',
  image: 'string',
  imageIsRootless: 'boolean',
  loadBalancerIP: 'string',
  perReplicaIPs: 'strings',
  port: 'number',
  cache: cacheShape,
  resources: DAEMON_RESOURCES_SHAPE,
  sessionAffinityTimeoutSeconds: 'number',
  externalTrafficPolicy: 'string',
  drainTimeoutSeconds: 'number',
  architecture: 'string',
  nativeBuilders: [{ architecture: 'string', loadBalancerIP: 'string', name: 'string' }],
  metrics: {
    port: 'number',
    serviceMonitor: 'boolean',
    scrapeAnnotations: 'boolean',
    monitoringNamespace: 'string',
    prometheusLabels: 'record',
    dashboard: { labelName: 'string', labelValue: 'string', title: 'string' },
    alerts: ALERT_THRESHOLDS_SHAPE,
  },
  networkPolicy: { ...networkPolicyShape, enabled: 'boolean' },
  egress: { ...egressShape, enabled: 'boolean' },
  clusterDomain: 'string',
  certSecretName: 'string',
  certRevision: 'string',
  addressPool: 'string',
  loadBalancer: 'string',
  legacyMetallbAnnotations: 'boolean',
  legacyAppArmorAnnotation: 'boolean',
  podSecurity: 'string',
  seccompProfile: { install: 'string', localhostProfile: 'string' },
  appArmorProfile: 'string',
  registryCache: registryCacheShape,
  // The daemon's own settings, passed through: checked by its shapes.
  ...(Object.fromEntries(SHARED_DAEMON_SETTINGS.map((k) => [k, DAEMON_PROPS_SHAPE[k]])) as PropsShape<SharedDaemonSettings>),
};
