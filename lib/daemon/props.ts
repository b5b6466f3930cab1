import type { CacheVolume } from '../cache-volume';
import type { PropsShape } from '../props-shape';
import type { TlsBundle } from '../tls-bundle';
import { CACHE_GUARD_SHAPE, type CacheGuardSettings } from './cache-guard';
import type { PodSecurityLevel } from './confinement';
import type { RegistrySettings } from './registries';
import { DAEMON_RESOURCES_SHAPE, type DaemonResources } from './resources';
import { SCHEDULING_SHAPE, type SchedulingSettings } from './scheduling';

/** Build history BuildKit keeps (`buildctl debug histories`, the preStop hook's source). */
export interface HistorySettings {
  /**
   * Records older than this go: a Go duration such as '168h'.
   * @default '168h'
   */
  readonly maxAge?: string;
  /**
   * At most this many records.
   * @default 300
   */
  readonly maxEntries?: number;
}

/** How the daemons run: interchangeable pods, or pods with a stable name and cache each. */
export type WorkloadKind = 'deployment' | 'statefulset';

export interface BuildkitDaemonProps {
  /**
   * Name of the workload, its ConfigMap prefix and its `app.kubernetes.io/instance` label.
   * @default 'buildkitd'
   */
  readonly name?: string;

  /**
   * Rootless BuildKit image, pinned to a release by tag and digest.
   * @default 'moby/buildkit:v0.32.2-rootless@sha256:504731e577c20559c00f968f33219f30115e70be29ab96728d1d06e963fc494b'
   */
  readonly image?: string;

  /**
   * The image is a rootless BuildKit build although its tag does not say `rootless` (a digest, a mirror, your
   * own build). The daemon's settings (UID 1000, rootlesskit, no process sandbox) fail on any other image.
   * @default - only images whose tag contains `rootless` are accepted
   */
  readonly imageIsRootless?: boolean;

  /**
   * Number of daemons, at most 100. Each has its own cache. 0 parks the builder: the objects stay, no pod runs.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Deployment, or StatefulSet (stable pod names, a cache claim per replica when the cache is persistent).
   * Both are named `name`, and both select the same labels.
   * @default 'deployment'
   */
  readonly workload?: WorkloadKind;

  /**
   * TCP port buildkitd serves mutual TLS on. Under 1024 (this or `metricsPort`), the pods lower
   * `net.ipv4.ip_unprivileged_port_start` to it: the rootless daemon has no NET_BIND_SERVICE.
   * @default 1234
   */
  readonly port?: number;

  /**
   * Container resources.
   * @default - requests 500m CPU and memory equal to the memory limit; memory limit 2Gi per parallel step plus
   * 2Gi for the daemon (6Gi at the default parallelism of 2); no CPU limit
   */
  readonly resources?: DaemonResources;

  /**
   * The certificates the daemon serves and verifies clients with.
   * @default - a TlsBundle for the Secret 'buildkit-daemon-certs'
   */
  readonly tls?: TlsBundle;

  /**
   * The state directory's volume.
   * @default - an ephemeral 50Gi CacheVolume
   */
  readonly cache?: CacheVolume;

  /**
   * How long a stopping daemon waits for running builds before it exits, at most 86400 (a day). The pod's
   * terminationGracePeriodSeconds is this plus 30.
   * @default 1800
   */
  readonly drainTimeoutSeconds?: number;

  /**
   * Serve Prometheus metrics (and pprof: keep it off the LoadBalancer) on this port via --debugaddr.
   * @default - no debug address
   */
  readonly metricsPort?: number;

  /**
   * Run only on nodes of this architecture (`kubernetes.io/arch`: amd64, arm64, arm, ppc64le, s390x, riscv64
   * or 386), for native builds.
   * @default - any node; other platforms build under emulation
   */
  readonly architecture?: string;

  /**
   * Which nodes the pods run on: a node selector and tolerations, for builds that must stay on nodes of their own.
   * @default - any node (of `architecture`)
   */
  readonly scheduling?: SchedulingSettings;

  /**
   * Build steps the daemon runs at once, across all its builds (`[worker.oci] max-parallelism`). With
   * cgroup v2 one step over the memory limit kills the daemon and every running build, so this bounds memory
   * too. From 1 to 64.
   * @default - the CPU request rounded up, from 2 to 64: as fast as unbounded on those cores, with half the latency
   */
  readonly maxParallelism?: number;

  /**
   * How much build history the daemon keeps.
   * @default { maxAge: '168h', maxEntries: 300 }
   */
  readonly history?: HistorySettings;

  /**
   * The SELinux type of the container, for SELinux nodes where rootless BuildKit cannot mount devpts:
   * 'spc_t' (super-privileged container). Privileged namespaces only.
   * @default - the runtime's default type
   */
  readonly seLinuxType?: string;

  /**
   * Confinement of the daemon's container. 'privileged': seccomp and AppArmor Unconfined, which only a
   * `privileged` namespace admits. 'baseline': a Localhost seccomp profile (profiles/seccomp/buildkit-rootless.json,
   * the runtime's default plus what rootlesskit needs) and no Unconfined anywhere, for namespaces enforcing
   * Pod Security `baseline`.
   * @default 'privileged'
   */
  readonly podSecurity?: PodSecurityLevel;

  /**
   * With podSecurity 'baseline': the seccomp profile's path under the kubelet's seccomp folder
   * (/var/lib/kubelet/seccomp/).
   * @default 'buildkit/buildkit-rootless.json'
   */
  readonly seccompLocalhostProfile?: string;

  /**
   * With podSecurity 'baseline': a Localhost AppArmor profile loaded on the nodes (profiles/apparmor/), for
   * nodes with AppArmor, whose default profile denies the mounts rootless BuildKit makes.
   * @default - no AppArmor setting (nodes without AppArmor)
   */
  readonly appArmorProfile?: string;

  /**
   * How the daemon reaches registries, per host[:port] (`docker.io`, `registry.lan:5000`): mirrors,
   * plain HTTP, unverified TLS, CA certificates and client keypairs, rendered as `[registry."HOST"]`.
   * @default - none: public registries over verified TLS
   */
  readonly registries?: Readonly<Record<string, RegistrySettings>>;

  /**
   * CA certificates (PEM) by file name, for `registries[...].ca`: a ConfigMap mounted read-only at
   * /etc/buildkit-registry/ca/; a change rolls the daemons.
   * @default - none
   */
  readonly registryCaCertificates?: Readonly<Record<string, string>>;

  /**
   * A Secret with client keypair files, for `registries[...].keypairs`, mounted read-only at
   * /etc/buildkit-registry/keys/. Only its name is in dist/: after changing its content, run
   * `kubectl rollout restart`.
   * @default - none
   */
  readonly registryKeypairSecret?: string;

  /**
   * The cache guard: a container beside the daemon that prunes the cache as soon as BuildKit's own
   * accounting reaches the GC threshold, instead of at the GC's next minute (README, "Disk").
   * @default { enabled: true, intervalSeconds: 5 }
   */
  readonly cacheGuard?: CacheGuardSettings;

  /**
   * Keep the container runtime's default capabilities (NET_RAW, CHOWN, DAC_OVERRIDE and the rest) instead of
   * SETUID and SETGID only, for nodes whose image's newuidmap needs more (the daemon's log then says
   * `newuidmap: write to uid_map failed: Operation not permitted`).
   * @default false
   */
  readonly runtimeDefaultCapabilities?: boolean;

  /**
   * Set AppArmor with the `container.apparmor.security.beta.kubernetes.io` annotation instead of the
   * `appArmorProfile` field, for clusters older than Kubernetes 1.30.
   * @default false
   */
  readonly legacyAppArmorAnnotation?: boolean;
}

/** Every setting of BuildkitDaemonProps, for the unknown-key check (tsc keeps it complete). */
export const DAEMON_PROPS_SHAPE: PropsShape<BuildkitDaemonProps> = {
  name: 'string',
  image: 'string',
  imageIsRootless: 'boolean',
  replicas: 'number',
  workload: 'string',
  port: 'number',
  resources: DAEMON_RESOURCES_SHAPE,
  tls: 'object',
  cache: 'object',
  drainTimeoutSeconds: 'number',
  metricsPort: 'number',
  architecture: 'string',
  scheduling: SCHEDULING_SHAPE,
  legacyAppArmorAnnotation: 'boolean',
  maxParallelism: 'number',
  history: { maxAge: 'string', maxEntries: 'number' },
  seLinuxType: 'string',
  podSecurity: 'string',
  seccompLocalhostProfile: 'string',
  appArmorProfile: 'string',
  registries: 'object',
  registryCaCertificates: 'record',
  registryKeypairSecret: 'string',
  runtimeDefaultCapabilities: 'boolean',
  cacheGuard: CACHE_GUARD_SHAPE,
};
