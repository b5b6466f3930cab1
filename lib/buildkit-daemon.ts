import { createHash } from 'crypto';
import { Construct } from 'constructs';
import {
  IntOrString, KubeConfigMap, KubeDeployment, KubePodDisruptionBudget, KubeService, KubeStatefulSet,
  PodTemplateSpec, Probe, Quantity,
} from '../imports/k8s';
import { gcLimitsFor, renderBuildkitdToml, RenderedRegistry } from './buildkitd-toml';
import { CacheVolume } from './cache-volume';
import { MANAGED_BY, selectorLabels } from './labels';
import { PRESTOP_SCRIPT } from './prestop-script';
import { parseQuantity } from './quantity';
import { SEED } from './settings';
import { TlsBundle } from './tls-bundle';
import {
  checkArchitecture, checkBoundedInteger, checkDnsLabel, checkDnsSubdomain, checkKnownKeys, checkPinnedImage, checkPort, checkQuantity, PropsShape,
} from './validation';

/** CPU and memory, as Kubernetes quantities. */
export interface ComputeResources {
  /**
   * CPU, such as '500m' or '2'.
   * @default - see BuildkitDaemonProps.resources
   */
  readonly cpu?: string;
  /**
   * Memory, such as '1Gi'.
   * @default - see BuildkitDaemonProps.resources
   */
  readonly memory?: string;
}

/** Requests and limits of the daemon container; each field given replaces only that default. */
export interface DaemonResources {
  /**
   * What the scheduler reserves.
   * @default - cpu '500m'; memory equal to the memory limit
   */
  readonly requests?: ComputeResources;
  /**
   * Hard caps.
   * @default - memory 2Gi per parallel step plus 2Gi for the daemon (6Gi at the default parallelism of 2); no CPU
   * limit: throttling only slows builds, the request already reserves a share
   */
  readonly limits?: ComputeResources;
}

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

/** How the daemon reaches one registry (BuildKit's `[registry."HOST"]`). */
export interface RegistrySettings {
  /**
   * Registries (host[:port]) to pull this one's images from first.
   * @default - none
   */
  readonly mirrors?: readonly string[];
  /**
   * Plain HTTP, for an in-cluster registry without TLS.
   * @default false
   */
  readonly http?: boolean;
  /**
   * TLS without verifying the certificate.
   * @default false
   */
  readonly insecure?: boolean;
  /**
   * File names in registryCaCertificates that verify this registry.
   * @default - the system's CAs
   */
  readonly ca?: readonly string[];
  /**
   * Client certificate and key file names in the registryKeypairSecret.
   * @default - none
   */
  readonly keypairs?: ReadonlyArray<{ readonly key: string; readonly cert: string }>;
}

export const REGISTRY_SHAPE: PropsShape<RegistrySettings> = { mirrors: true, http: true, insecure: true, ca: true, keypairs: true };
const REGISTRY_DIR = '/etc/buildkit-registry';
const HOST_PORT = /^(?=.{1,253}(:\d{1,5})?$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:\d{1,5})?$/;

/**
 * The `[registry."HOST"]` tables, refusing unknown keys, hosts and mirrors that are not host[:port], and
 * files no source provides.
 */
function renderRegistries(owner: string, props: BuildkitDaemonProps): Record<string, RenderedRegistry> {
  const out: Record<string, RenderedRegistry> = {};
  for (const [host, settings] of Object.entries(props.registries ?? {})) {
    const where = `registries["${host}"]`;
    if (!HOST_PORT.test(host)) throw new Error(`${owner}: invalid ${where}: the key must be a registry host[:port], such as docker.io or registry.lan:5000`);
    checkKnownKeys(owner, settings, REGISTRY_SHAPE, `${where}.`);
    for (const mirror of settings.mirrors ?? []) {
      if (!HOST_PORT.test(mirror)) throw new Error(`${owner}: invalid ${where}.mirrors entry ${JSON.stringify(mirror)}: use host[:port], such as mirror.lan:5000 (no scheme, no path)`);
    }
    for (const file of settings.ca ?? []) {
      if (props.registryCaCertificates?.[file] === undefined) {
        throw new Error(`${owner}: invalid ${where}.ca entry ${JSON.stringify(file)}: no such file in registryCaCertificates; add its PEM there under that name`);
      }
    }
    if (settings.keypairs?.length && props.registryKeypairSecret === undefined) {
      throw new Error(`${owner}: invalid ${where}.keypairs: no registryKeypairSecret provides the files; name the Secret that holds them`);
    }
    out[host] = {
      ...(settings.mirrors?.length ? { mirrors: settings.mirrors } : {}),
      ...(settings.http ? { http: true } : {}),
      ...(settings.insecure ? { insecure: true } : {}),
      ...(settings.ca?.length ? { ca: settings.ca.map((f) => `${REGISTRY_DIR}/ca/${f}`) } : {}),
      ...(settings.keypairs?.length ? { keypair: settings.keypairs.map((k) => ({ key: `${REGISTRY_DIR}/keys/${k.key}`, cert: `${REGISTRY_DIR}/keys/${k.cert}` })) } : {}),
    };
  }
  return out;
}

/** The Pod Security level the daemon's namespace can enforce. */
export type PodSecurityLevel = 'privileged' | 'baseline';

/** How the daemons run: interchangeable pods, or pods with a stable name and cache each. */
export type WorkloadKind = 'deployment' | 'statefulset';

export interface BuildkitDaemonProps {
  /**
   * Name of the workload, its ConfigMap prefix and its `app.kubernetes.io/instance` label.
   * @default 'buildkitd'
   */
  readonly name?: string;

  /**
   * Rootless BuildKit image, pinned to a release.
   * @default 'moby/buildkit:v0.32.2-rootless'
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
   * @default - requests 500m CPU and 1Gi memory, limit 8Gi memory
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
   * Build steps the daemon runs at once, across all its builds (`[worker.oci] max-parallelism`). With
   * cgroup v2 one step over the memory limit kills the daemon and every running build, so this bounds memory
   * too. From 1 to 64.
   * @default - the CPU request rounded up, at least 2: as fast as unbounded on those cores, with half the latency
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
   * Set AppArmor with the `container.apparmor.security.beta.kubernetes.io` annotation instead of the
   * `appArmorProfile` field, for clusters older than Kubernetes 1.30.
   * @default false
   */
  readonly legacyAppArmorAnnotation?: boolean;
}

const CONTAINER = 'buildkitd';
const UID = 1000;
/** The unix socket stays beside TCP: exec probes use it, since they cannot present a client certificate. */
const SOCKET = `unix:///run/user/${UID}/buildkit/buildkitd.sock`;
const CONFIG_DIR = '/home/user/.config/buildkit';
const WORKERS_CHECK = ['buildctl', '--addr', SOCKET, 'debug', 'workers'];

const DEFAULT_CPU_REQUEST = '500m';
/** Memory per parallel build step, and for the daemon itself: the default limit is built from these. */
const STEP_MEMORY_GIB = 2;
const DAEMON_MEMORY_GIB = 2;
const HISTORY_DEFAULTS = { maxAge: '168h', maxEntries: 300 };
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
/** Upper bounds, documented on the props: beyond them a value is a typo, not a plan. */
const MAX_REPLICAS = 100;
const MAX_DRAIN_SECONDS = 86_400;

const COMPUTE_SHAPE: PropsShape<ComputeResources> = { cpu: true, memory: true };
export const DAEMON_RESOURCES_SHAPE: PropsShape<DaemonResources> = { requests: COMPUTE_SHAPE, limits: COMPUTE_SHAPE };
const PROPS_SHAPE: PropsShape<BuildkitDaemonProps> = {
  name: true, image: true, imageIsRootless: true, replicas: true, workload: true, port: true, resources: DAEMON_RESOURCES_SHAPE,
  tls: true, cache: true, drainTimeoutSeconds: true, metricsPort: true, architecture: true, legacyAppArmorAnnotation: true,
  maxParallelism: true, history: { maxAge: true, maxEntries: true }, seLinuxType: true,
  podSecurity: true, seccompLocalhostProfile: true, appArmorProfile: true,
  registries: true, registryCaCertificates: true, registryKeypairSecret: true,
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function probe(periodSeconds: number, timeoutSeconds: number, failureThreshold: number): Probe {
  return { exec: { command: WORKERS_CHECK }, periodSeconds, timeoutSeconds, failureThreshold };
}

function quantities(owner: string, prop: string, values: ComputeResources): Record<string, Quantity> {
  const out: Record<string, Quantity> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    checkQuantity(owner, `${prop}.${key}`, value, key === 'cpu' ? '500m' : '1Gi', key === 'memory' ? 2 ** 20 : 0);
    out[key] = Quantity.fromString(value);
  }
  return out;
}

/**
 * Requests and limits with the defaults filled in. Memory: a limit that holds every parallel step, and a
 * request equal to it, so that neither the scheduler's overcommit nor node-pressure eviction (which takes
 * pods above their request first) ends running builds. The API server refuses a request above its limit.
 */
function containerResources(owner: string, given: DaemonResources, parallelism: number, cache: CacheVolume) {
  // A field given as undefined takes its default, as an absent one does (a spread would drop the default).
  const limits: ComputeResources = { cpu: given.limits?.cpu, memory: given.limits?.memory ?? `${STEP_MEMORY_GIB * parallelism + DAEMON_MEMORY_GIB}Gi` };
  const requests: ComputeResources = { cpu: given.requests?.cpu ?? DEFAULT_CPU_REQUEST, memory: given.requests?.memory ?? limits.memory };
  const result = { requests: quantities(owner, 'resources.requests', requests), limits: quantities(owner, 'resources.limits', limits) };
  // An emptyDir cache lives on the node's disk: reserve it, or the scheduler packs several caches onto one disk.
  if (cache.ephemeral) result.requests['ephemeral-storage'] = Quantity.fromString(cache.size);
  const floorGiB = parallelism * 0.5 + 0.5;
  if (parseQuantity(limits.memory!)! < floorGiB * 2 ** 30) {
    throw new Error(`${owner}: invalid resources.limits.memory ${JSON.stringify(limits.memory)}: ${parallelism} parallel steps need at least ${floorGiB}Gi `
      + '(512Mi each and the daemon\'s); raise the limit or lower maxParallelism');
  }
  for (const key of ['cpu', 'memory'] as const) {
    const request = requests[key];
    const limit = limits[key];
    if (request !== undefined && limit !== undefined && parseQuantity(request)! > parseQuantity(limit)!) {
      throw new Error(`${owner}: invalid resources.requests.${key} ${JSON.stringify(request)}: it exceeds the limit ${JSON.stringify(limit)}, `
        + `which the API server refuses; lower the request or raise resources.limits.${key}`);
    }
  }
  return result;
}

/**
 * Seccomp and AppArmor: Unconfined for 'privileged'; for 'baseline', the Localhost seccomp profile and
 * AppArmor unset or Localhost, refusing what baseline forbids or what cannot work under it.
 */
function containerConfinement(owner: string, level: PodSecurityLevel, props: BuildkitDaemonProps, legacyAppArmor: boolean) {
  if (level === 'privileged') {
    for (const prop of ['seccompLocalhostProfile', 'appArmorProfile'] as const) {
      if (props[prop] !== undefined) throw new Error(`${owner}: invalid ${prop} ${JSON.stringify(props[prop])}: it applies to podSecurity 'baseline' only; set podSecurity: 'baseline' or drop it`);
    }
    return { seccompProfile: { type: 'Unconfined' }, ...(legacyAppArmor ? {} : { appArmorProfile: { type: 'Unconfined' } }) };
  }
  if (level !== 'baseline') throw new Error(`${owner}: invalid podSecurity ${JSON.stringify(level)}: use 'privileged' or 'baseline'`);
  if (legacyAppArmor) {
    throw new Error(`${owner}: invalid legacyAppArmorAnnotation true: the annotation sets AppArmor unconfined, which baseline forbids; use appArmorProfile on Kubernetes 1.30+`);
  }
  if (props.seLinuxType !== undefined) {
    throw new Error(`${owner}: invalid seLinuxType ${JSON.stringify(props.seLinuxType)}: baseline admits only the container_* SELinux types; spc_t needs podSecurity 'privileged'`);
  }
  const localhostProfile = props.seccompLocalhostProfile ?? 'buildkit/buildkit-rootless.json';
  if (!/^[\w.-]+(\/[\w.-]+)*\.json$/.test(localhostProfile) || localhostProfile.split('/').includes('..')) {
    throw new Error(`${owner}: invalid seccompLocalhostProfile ${JSON.stringify(localhostProfile)}: use a descending path ending in .json, such as buildkit/buildkit-rootless.json`);
  }
  if (props.appArmorProfile !== undefined && !/^[\w.-]+$/.test(props.appArmorProfile)) {
    throw new Error(`${owner}: invalid appArmorProfile ${JSON.stringify(props.appArmorProfile)}: use the name of a profile loaded on the nodes, such as buildkit-rootless`);
  }
  return {
    seccompProfile: { type: 'Localhost', localhostProfile },
    ...(props.appArmorProfile ? { appArmorProfile: { type: 'Localhost', localhostProfile: props.appArmorProfile } } : {}),
  };
}

/** The chart's args and security settings are rootless BuildKit's; a tag says so, or the user does. */
function checkRootlessImage(owner: string, image: string, asserted: boolean | undefined): string {
  const tag = /:([\w][\w.-]*)(@sha256:[a-f0-9]{64})?$/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1] ?? '';
  if (asserted === false || (asserted === undefined && !tag.includes('rootless'))) {
    throw new Error(`${owner}: invalid image ${JSON.stringify(image)}: the daemon runs rootless BuildKit only; use a -rootless tag `
      + `such as ${SEED.image}, or set imageIsRootless: true for a rootless build whose tag does not say so`);
  }
  return image;
}

/** The rootless `buildkitd` workload: mutual TLS on `port`, its buildkitd.toml, probes and security context. */
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
    const owner = 'BuildkitDaemon';
    checkKnownKeys(owner, props, PROPS_SHAPE);
    this.name = checkDnsLabel(owner, 'name', props.name ?? SEED.name);
    this.image = checkRootlessImage(owner, checkPinnedImage(owner, 'image', props.image ?? SEED.image), props.imageIsRootless);
    this.replicas = checkBoundedInteger(owner, 'replicas', props.replicas ?? 1, MAX_REPLICAS, 'more daemons want a chart each');
    this.port = checkPort(owner, 'port', props.port ?? SEED.port);
    this.workloadKind = props.workload ?? 'deployment';
    if (!['deployment', 'statefulset'].includes(this.workloadKind)) {
      throw new Error(`${owner}: invalid workload ${JSON.stringify(this.workloadKind)}: use 'deployment' or 'statefulset'`);
    }
    this.metricsPort = props.metricsPort === undefined ? undefined : checkPort(owner, 'metricsPort', props.metricsPort);
    if (this.metricsPort === this.port) throw new Error(`${owner}: invalid metricsPort ${this.metricsPort}: it must differ from port ${this.port}`);
    const drainSeconds = checkBoundedInteger(owner, 'drainTimeoutSeconds', props.drainTimeoutSeconds ?? 1800, MAX_DRAIN_SECONDS, 'a day at most: a build still running then has hung');
    this.architecture = props.architecture === undefined ? undefined : checkArchitecture(owner, 'architecture', props.architecture);
    this.tls = props.tls ?? new TlsBundle(this, 'Tls');
    this.cache = props.cache ?? new CacheVolume(this, 'Cache');
    if (this.cache.perReplica && this.workloadKind !== 'statefulset') {
      throw new Error(`${owner}: invalid workload "deployment": a per-replica cache needs workload 'statefulset'`);
    }
    if (this.cache.claim && this.replicas > 1) {
      throw new Error(`${owner}: invalid replicas ${this.replicas}: a persistent cache volume serves one daemon `
        + '(BuildKit allows one daemon per state directory); use replicas 1, a per-replica cache (StatefulSet) or an ephemeral cache');
    }
    const cpuRequest = parseQuantity(props.resources?.requests?.cpu ?? DEFAULT_CPU_REQUEST);
    this.maxParallelism = props.maxParallelism === undefined
      ? Math.max(2, Math.ceil(cpuRequest ?? 0))
      : checkBoundedInteger(owner, 'maxParallelism', props.maxParallelism, 64, 'build steps at once', 1);
    const history = { ...HISTORY_DEFAULTS, ...props.history };
    if (!GO_DURATION.test(history.maxAge)) throw new Error(`${owner}: invalid history.maxAge ${JSON.stringify(history.maxAge)}: use a Go duration such as 168h or 30m`);
    checkBoundedInteger(owner, 'history.maxEntries', history.maxEntries, 100_000, 'records');
    const resources = containerResources(owner, props.resources ?? {}, this.maxParallelism, this.cache);
    if (props.seLinuxType !== undefined && !/^[a-z][a-z0-9_]*_t$/.test(props.seLinuxType)) {
      throw new Error(`${owner}: invalid seLinuxType ${JSON.stringify(props.seLinuxType)}: use an SELinux type such as spc_t`);
    }
    this.selectorLabels = selectorLabels(this.name);
    const labels = { ...this.selectorLabels, ...MANAGED_BY };

    const toml = renderBuildkitdToml(gcLimitsFor(this.cache.sizeBytes, this.cache.headroomBytes),
      { maxParallelism: this.maxParallelism, historyMaxAge: history.maxAge, historyMaxEntries: history.maxEntries, registries: renderRegistries(owner, props) });
    const caCertificates = props.registryCaCertificates ?? {};
    const caConfigMap = Object.keys(caCertificates).length
      ? new KubeConfigMap(this, 'RegistryCa', { metadata: { name: `${this.name}-registry-ca`, labels: { ...selectorLabels(this.name), ...MANAGED_BY } }, data: { ...caCertificates } })
      : undefined;
    const registryVolumes = [
      ...(caConfigMap ? [{ volume: { name: 'registry-ca', configMap: { name: caConfigMap.name } }, mountPath: `${REGISTRY_DIR}/ca` }] : []),
      ...(props.registryKeypairSecret ? [{
        volume: { name: 'registry-keys', secret: { secretName: checkDnsSubdomain(owner, 'registryKeypairSecret', props.registryKeypairSecret), defaultMode: 0o440 } },
        mountPath: `${REGISTRY_DIR}/keys`,
      }] : []),
    ];
    this.config = new KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels },
      data: { 'buildkitd.toml': toml, 'prestop.sh': PRESTOP_SCRIPT },
    });

    const legacyAppArmor = props.legacyAppArmorAnnotation ?? false;
    this.podSecurity = props.podSecurity ?? 'privileged';
    const confinement = containerConfinement(owner, this.podSecurity, props, legacyAppArmor);
    // buildkitd reads its config and certificates once at start: these change when either does, rolling the pods.
    const podAnnotations: Record<string, string> = {
      // buildkitd reads registry CAs once too: their content rolls the pods with the config.
      'checksum/config': sha256(toml + PRESTOP_SCRIPT + (caConfigMap ? JSON.stringify(caCertificates) : '')),
      'checksum/tls': sha256(this.tls.revision),
    };
    // Rootless BuildKit creates user namespaces and mounts, which the default seccomp and AppArmor profiles refuse.
    if (legacyAppArmor) podAnnotations[`container.apparmor.security.beta.kubernetes.io/${CONTAINER}`] = 'unconfined';

    const args = [
      '--addr', SOCKET,
      '--addr', `tcp://0.0.0.0:${this.port}`,
      '--tlscacert', this.tls.caFile,
      '--tlscert', this.tls.certFile,
      '--tlskey', this.tls.keyFile,
      '--oci-worker-no-process-sandbox',
    ];
    const ports = [{ name: 'buildkitd', containerPort: this.port, protocol: 'TCP' }];
    if (this.metricsPort !== undefined) {
      args.push('--debugaddr', `0.0.0.0:${this.metricsPort}`);
      ports.push({ name: 'metrics', containerPort: this.metricsPort, protocol: 'TCP' });
    }
    const spread = this.replicas > 1
      ? [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: this.selectorLabels } }]
      : undefined;

    const template: PodTemplateSpec = {
      metadata: { labels, annotations: podAnnotations },
      spec: {
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        terminationGracePeriodSeconds: drainSeconds + 30,
        nodeSelector: props.architecture ? { 'kubernetes.io/arch': props.architecture } : undefined,
        topologySpreadConstraints: spread,
        // OnRootMismatch: a large persistent cache is not re-chowned file by file at every start.
        securityContext: { runAsUser: UID, runAsGroup: UID, runAsNonRoot: true, fsGroup: UID, fsGroupChangePolicy: 'OnRootMismatch' },
        containers: [{
          name: CONTAINER,
          image: this.image,
          imagePullPolicy: 'IfNotPresent',
          args,
          ports,
          startupProbe: probe(5, 5, 60),
          readinessProbe: probe(10, 5, 3),
          livenessProbe: probe(30, 10, 5),
          lifecycle: { preStop: { exec: { command: ['sh', `${CONFIG_DIR}/prestop.sh`, String(drainSeconds)] } } },
          resources,
          securityContext: {
            runAsUser: UID,
            runAsGroup: UID,
            // newuidmap/newgidmap are setuid: rootless BuildKit fails without privilege escalation.
            allowPrivilegeEscalation: true,
            // rootlesskit and buildkitd write under /run/user, /tmp and $HOME; upstream keeps the root writable.
            readOnlyRootFilesystem: false,
            ...confinement,
            ...(props.seLinuxType ? { seLinuxOptions: { type: props.seLinuxType } } : {}),
          },
          volumeMounts: [
            this.cache.volumeMount,
            { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
            this.tls.volumeMount,
            ...registryVolumes.map((r) => ({ name: r.volume.name, mountPath: r.mountPath, readOnly: true })),
          ],
        }],
        volumes: [
          ...(this.cache.volume ? [this.cache.volume] : []),
          { name: 'config', configMap: { name: this.config.name } },
          this.tls.volume,
          ...registryVolumes.map((r) => r.volume),
        ],
      },
    };
    const metadata = { name: this.name, labels };
    const selector = { matchLabels: this.selectorLabels };

    if (this.workloadKind === 'statefulset') {
      this.headlessService = new KubeService(this, 'Headless', {
        metadata: { name: `${this.name}-headless`, labels },
        spec: {
          clusterIp: 'None',
          selector: this.selectorLabels,
          ports: [{ name: 'buildkitd', port: this.port, targetPort: IntOrString.fromString('buildkitd'), protocol: 'TCP' }],
        },
      });
      this.workload = new KubeStatefulSet(this, 'Resource', {
        metadata,
        spec: {
          replicas: this.replicas,
          serviceName: this.headlessService.name,
          // Replicas are independent builders: start and stop them together.
          podManagementPolicy: 'Parallel',
          selector,
          template,
          volumeClaimTemplates: this.cache.claimTemplate ? [this.cache.claimTemplate] : undefined,
        },
      });
    } else {
      this.workload = new KubeDeployment(this, 'Resource', {
        metadata,
        spec: {
          replicas: this.replicas,
          selector,
          // A persistent RWO cache cannot be mounted by a surge pod, and two daemons must never share it.
          strategy: this.cache.claim
            ? { type: 'Recreate' }
            : { type: 'RollingUpdate', rollingUpdate: { maxSurge: IntOrString.fromNumber(1), maxUnavailable: IntOrString.fromNumber(0) } },
          template,
        },
      });
    }

    if (this.replicas > 1) {
      // Voluntary disruptions (node drains) take one builder at a time.
      new KubePodDisruptionBudget(this, 'Budget', {
        metadata: { name: this.name, labels },
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector },
      });
    }
  }
}
