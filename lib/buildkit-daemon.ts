import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { KubeConfigMap, type KubeDeployment, type KubeService, type KubeStatefulSet } from '../imports/k8s';
import { gcLimitsFor, renderBuildkitdToml } from './buildkitd-toml';
import { CACHE_GUARD_SCRIPT } from './cache-guard-script';
import { CacheVolume } from './cache-volume';
import { CACHE_GUARD_SHAPE, type CacheGuardSettings, cacheGuardContainer, guardInterval } from './daemon/cache-guard';
import { containerConfinement, type PodSecurityLevel } from './daemon/confinement';
import { CONTAINER, daemonContainer } from './daemon/container';
import { type RegistrySettings, registryVolumes, renderRegistries } from './daemon/registries';
import { containerResources, DAEMON_RESOURCES_SHAPE, type DaemonResources, maxParallelismFor } from './daemon/resources';
import { podScheduling, SCHEDULING_SHAPE, type SchedulingSettings } from './daemon/scheduling';
import { daemonVolumes } from './daemon/volumes';
import { daemonWorkload } from './daemon/workload';
import { MANAGED_BY, selectorLabels } from './labels';
import { PRESTOP_SCRIPT } from './prestop-script';
import { SEED } from './settings';
import { TlsBundle } from './tls-bundle';
import {
  checkArchitecture,
  checkBoundedInteger,
  checkDnsLabel,
  checkGoDuration,
  checkKnownKeys,
  checkPinnedImage,
  checkPort,
  type PropsShape,
} from './validation';

export type { ConfinementSettings, PodSecurityLevel } from './daemon/confinement';
export type { RegistrySettings } from './daemon/registries';
export { REGISTRY_SHAPE } from './daemon/registries';
export type { ComputeResources, DaemonResources } from './daemon/resources';
export { DAEMON_RESOURCES_SHAPE } from './daemon/resources';
export type { SchedulingSettings, TolerationSettings } from './daemon/scheduling';

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
   * TCP port buildkitd serves mutual TLS on.
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

const OWNER = 'BuildkitDaemon';
const HISTORY_DEFAULTS = { maxAge: '168h', maxEntries: 300 };
/** Upper bounds, documented on the props: beyond them a value is a typo, not a plan. */
const MAX_REPLICAS = 100;
const MAX_DRAIN_SECONDS = 86_400;

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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The chart's args and security settings are rootless BuildKit's; a tag says so, or the user does. */
function checkRootlessImage(owner: string, image: string, asserted: boolean | undefined): string {
  const tag = /:([\w][\w.-]*)(@sha256:[a-f0-9]{64})?$/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1] ?? '';
  if (asserted === false || (asserted === undefined && !tag.includes('rootless'))) {
    throw new Error(
      `${owner}: invalid image ${JSON.stringify(image)}: the daemon runs rootless BuildKit only; use a -rootless tag ` +
        `such as ${SEED.image}, or set imageIsRootless: true for a rootless build whose tag does not say so`,
    );
  }
  return image;
}

/**
 * Pod annotations. buildkitd reads its config, registry CAs and certificates once at start: the checksums
 * change when any does, rolling the pods.
 */
function rollingAnnotations(toml: string, caCertificates: Readonly<Record<string, string>>, tlsRevision: string, legacyAppArmor: boolean) {
  const annotations: Record<string, string> = {
    'checksum/config': sha256(toml + PRESTOP_SCRIPT + (Object.keys(caCertificates).length ? JSON.stringify(caCertificates) : '')),
    'checksum/tls': sha256(tlsRevision),
  };
  // Rootless BuildKit creates user namespaces and mounts, which the default seccomp and AppArmor profiles refuse.
  if (legacyAppArmor) annotations[`container.apparmor.security.beta.kubernetes.io/${CONTAINER}`] = 'unconfined';
  return annotations;
}

function checkWorkloadKind(kind: WorkloadKind): WorkloadKind {
  if (!['deployment', 'statefulset'].includes(kind))
    throw new Error(`${OWNER}: invalid workload ${JSON.stringify(kind)}: use 'deployment' or 'statefulset'`);
  return kind;
}

/** A cache volume the workload can mount: per replica only in a StatefulSet, a single claim only for one daemon. */
function checkCacheFits(cache: CacheVolume, kind: WorkloadKind, replicas: number): CacheVolume {
  if (cache.perReplica && kind !== 'statefulset') {
    throw new Error(`${OWNER}: invalid workload "deployment": a per-replica cache needs workload 'statefulset'`);
  }
  if (cache.claim && replicas > 1) {
    throw new Error(
      `${OWNER}: invalid replicas ${replicas}: a persistent cache volume serves one daemon ` +
        '(BuildKit allows one daemon per state directory); use replicas 1, a per-replica cache (StatefulSet) or an ephemeral cache',
    );
  }
  return cache;
}

function checkHistory(given: HistorySettings | undefined): Required<HistorySettings> {
  const history = { ...HISTORY_DEFAULTS, ...given };
  checkGoDuration(OWNER, 'history.maxAge', history.maxAge, '168h or 30m');
  checkBoundedInteger(OWNER, 'history.maxEntries', history.maxEntries, 100_000, 'records');
  return history;
}

export class BuildkitDaemon extends Construct {
  public readonly name: string;
  public readonly port: number;
  public readonly replicas: number;
  public readonly image: string;
  public readonly workloadKind: WorkloadKind;
  /** The Pod Security level its pods meet. */
  public readonly podSecurity: PodSecurityLevel;
  /** Build steps the daemon runs at once. */
  public readonly maxParallelism: number;
  /** The `kubernetes.io/arch` its pods are pinned to, if any. */
  public readonly architecture?: string;
  /** The metrics port, when the daemon serves one. */
  public readonly metricsPort?: number;
  /** The labels a Service selects the daemon's pods by. */
  public readonly selectorLabels: Record<string, string>;
  public readonly tls: TlsBundle;
  public readonly cache: CacheVolume;
  public readonly config: KubeConfigMap;
  public readonly workload: KubeDeployment | KubeStatefulSet;
  /** The StatefulSet's governing Service: pods resolve as `<name>-N.<headless>.<namespace>.svc`. */
  public readonly headlessService?: KubeService;

  constructor(scope: Construct, id: string, props: BuildkitDaemonProps = {}) {
    super(scope, id);
    // Validate, then build: buildkitd.toml and the registry files, the volumes, the container, the workload.
    checkKnownKeys(OWNER, props, DAEMON_PROPS_SHAPE);
    this.name = checkDnsLabel(OWNER, 'name', props.name ?? SEED.name);
    this.image = checkRootlessImage(OWNER, checkPinnedImage(OWNER, 'image', props.image ?? SEED.image), props.imageIsRootless);
    this.replicas = checkBoundedInteger(OWNER, 'replicas', props.replicas ?? 1, MAX_REPLICAS, 'more daemons want a chart each');
    this.port = checkPort(OWNER, 'port', props.port ?? SEED.port);
    this.workloadKind = checkWorkloadKind(props.workload ?? 'deployment');
    this.metricsPort = props.metricsPort === undefined ? undefined : checkPort(OWNER, 'metricsPort', props.metricsPort);
    if (this.metricsPort === this.port)
      throw new Error(`${OWNER}: invalid metricsPort ${this.metricsPort}: it must differ from port ${this.port}`);
    const drainSeconds = checkBoundedInteger(
      OWNER,
      'drainTimeoutSeconds',
      props.drainTimeoutSeconds ?? 1800,
      MAX_DRAIN_SECONDS,
      'a day at most: a build still running then has hung',
    );
    this.architecture = props.architecture === undefined ? undefined : checkArchitecture(OWNER, 'architecture', props.architecture);
    this.tls = props.tls ?? new TlsBundle(this, 'Tls');
    this.cache = checkCacheFits(props.cache ?? new CacheVolume(this, 'Cache'), this.workloadKind, this.replicas);
    this.maxParallelism = maxParallelismFor(OWNER, props.maxParallelism, props.resources);
    const history = checkHistory(props.history);
    const resources = containerResources(OWNER, props.resources ?? {}, this.maxParallelism, this.cache);
    this.podSecurity = props.podSecurity ?? 'privileged';
    const legacyAppArmor = props.legacyAppArmorAnnotation ?? false;
    const confinement = containerConfinement(OWNER, this.podSecurity, props, legacyAppArmor);
    this.selectorLabels = selectorLabels(this.name);
    const labels = { ...this.selectorLabels, ...MANAGED_BY };

    const gcLimits = gcLimitsFor(this.cache.sizeBytes, this.cache.headroomBytes);
    const guardSeconds = guardInterval(OWNER, props.cacheGuard);
    const toml = renderBuildkitdToml(gcLimits, {
      maxParallelism: this.maxParallelism,
      historyMaxAge: history.maxAge,
      historyMaxEntries: history.maxEntries,
      registries: renderRegistries(OWNER, props),
    });
    const registries = registryVolumes(this, OWNER, this.name, labels, props);
    this.config = new KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels },
      data: { 'buildkitd.toml': toml, 'prestop.sh': PRESTOP_SCRIPT, ...(guardSeconds ? { 'cache-guard.sh': CACHE_GUARD_SCRIPT } : {}) },
    });
    const podAnnotations = rollingAnnotations(toml, props.registryCaCertificates ?? {}, this.tls.revision, legacyAppArmor);
    const volumes = daemonVolumes(this.cache, this.tls, this.config.name, registries, guardSeconds !== undefined);
    const container = daemonContainer({
      image: this.image,
      port: this.port,
      metricsPort: this.metricsPort,
      drainSeconds,
      resources,
      confinement,
      volumeMounts: volumes.mounts,
      tlsFiles: { ca: this.tls.caFile, cert: this.tls.certFile, key: this.tls.keyFile },
      guardSocket: guardSeconds !== undefined,
    });
    const guard = guardSeconds ? [cacheGuardContainer(this.image, gcLimits, guardSeconds, confinement)] : [];
    ({ workload: this.workload, headlessService: this.headlessService } = daemonWorkload(this, {
      name: this.name,
      kind: this.workloadKind,
      replicas: this.replicas,
      port: this.port,
      labels,
      selectorLabels: this.selectorLabels,
      podAnnotations,
      scheduling: podScheduling(OWNER, props.scheduling, this.architecture),
      drainSeconds,
      containers: [container, ...guard],
      volumes: volumes.volumes,
      exclusiveCache: this.cache.claim !== undefined,
      claimTemplate: this.cache.claimTemplate,
    }));
  }
}
