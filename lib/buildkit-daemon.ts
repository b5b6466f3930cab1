import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { KubeConfigMap, type KubeDeployment, type KubeService, type KubeStatefulSet } from '../imports/k8s';
import { gcLimitsFor, renderBuildkitdToml } from './buildkitd-toml';
import { CACHE_GUARD_SCRIPT } from './cache-guard-script';
import { CacheVolume } from './cache-volume';
import { cacheGuardContainer, guardInterval } from './daemon/cache-guard';
import { containerConfinement, type PodSecurityLevel } from './daemon/confinement';
import { CONTAINER, daemonContainer } from './daemon/container';
import { type BuildkitDaemonProps, DAEMON_PROPS_SHAPE, type HistorySettings, type WorkloadKind } from './daemon/props';
import { registryVolumes, renderRegistries } from './daemon/registries';
import { containerResources, maxParallelismFor } from './daemon/resources';
import { podScheduling } from './daemon/scheduling';
import { daemonVolumes } from './daemon/volumes';
import { daemonWorkload } from './daemon/workload';
import { MANAGED_BY, selectorLabels } from './labels';
import { PRESTOP_SCRIPT } from './prestop-script';
import { checkKnownKeys } from './props-shape';
import { SEED } from './settings';
import { TlsBundle } from './tls-bundle';
import { checkArchitecture, checkBoundedInteger, checkDnsLabel, checkGoDuration, checkPinnedImage, checkPort } from './validation';

export type { ConfinementSettings, PodSecurityLevel } from './daemon/confinement';
export type { BuildkitDaemonProps, HistorySettings, WorkloadKind } from './daemon/props';
export { DAEMON_PROPS_SHAPE } from './daemon/props';
export type { RegistrySettings } from './daemon/registries';
export { REGISTRY_SHAPE } from './daemon/registries';
export type { ComputeResources, DaemonResources } from './daemon/resources';
export { DAEMON_RESOURCES_SHAPE } from './daemon/resources';
export type { SchedulingSettings, TolerationSettings } from './daemon/scheduling';

const OWNER = 'BuildkitDaemon';
const HISTORY_DEFAULTS = { maxAge: '168h', maxEntries: 300 };
/** Upper bounds, documented on the props: beyond them a value is a typo, not a plan. */
const MAX_REPLICAS = 100;
const MAX_DRAIN_SECONDS = 86_400;

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
  /** The longest a rollout of its pods may take with nothing wrong (each replaced pod may drain its builds first). */
  public readonly rolloutSeconds: number;

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
    ({
      workload: this.workload,
      headlessService: this.headlessService,
      rolloutSeconds: this.rolloutSeconds,
    } = daemonWorkload(this, {
      name: this.name,
      kind: this.workloadKind,
      replicas: this.replicas,
      port: this.port,
      metricsPort: this.metricsPort,
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
