import { CHART_PROPS_SHAPE } from '../../lib/buildkit-chart-props';
import type { Leaf } from '../../lib/props-shape';

// A sample value for every setting config.ts takes, with what else it needs to matter: read by the tests that
// walk every setting (every-setting-counts, hostile-values).

export type Config = Record<string, unknown>;
export interface Sample {
  /** A value other than the default. */
  readonly value: unknown;
  /** What else it takes to matter; without it, the setting is refused or changes something else. */
  readonly needs?: Config;
  /** Why, without `needs`, doing nothing is what the setting promises (it is documented so). */
  readonly inertAlone?: string;
}

const digest = (c: string) => `@sha256:${c.repeat(64)}`;
const CERTIFICATE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const CIDR_RULE = { egress: { allow: [{ cidr: '192.168.1.20/32', port: 3000 }] } };
const POD_RULE = { egress: { allow: [{ namespace: 'git', podLabels: { app: 'gitea' }, port: 3000 }] } };
const NATIVE = { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.115' }] };
const TOLERATION = { scheduling: { tolerations: [{ key: 'dedicated', value: 'builds', effect: 'NoSchedule' }] } };
const BASELINE = { podSecurity: 'baseline' };

export const SAMPLES: Record<string, Sample> = {
  namespace: { value: 'ci-builds' },
  clientNamespace: { value: 'ci' },
  name: { value: 'builder' },
  replicas: { value: 2 },
  workload: { value: 'statefulset' },
  image: { value: `moby/buildkit:v0.32.1-rootless${digest('a')}` },
  imageIsRootless: {
    value: true,
    needs: { image: `registry.lan/buildkit${digest('b')}` },
    inertAlone: 'it only admits an image whose tag does not say rootless',
  },
  loadBalancerIP: { value: '192.168.80.120' },
  perReplicaIPs: { value: ['192.168.80.121', '192.168.80.122'], needs: { workload: 'statefulset', replicas: 2 } },
  port: { value: 1443 },
  'cache.persistent': { value: true },
  'cache.size': { value: '60Gi' },
  'cache.headroom': { value: '10Gi' },
  'cache.storageClassName': { value: 'fast', needs: { cache: { persistent: true } } },
  'cache.claimName': { value: 'my-cache', needs: { cache: { persistent: true } } },
  'resources.requests.cpu': { value: '2' },
  'resources.requests.memory': { value: '5Gi' },
  'resources.limits.cpu': { value: '8' },
  'resources.limits.memory': { value: '16Gi' },
  sessionAffinityTimeoutSeconds: {
    value: 600,
    needs: { replicas: 2 },
    inertAlone: 'ClientIP affinity applies when the Service selects more than one pod: scaling to one keeps the setting',
  },
  externalTrafficPolicy: { value: 'Local' },
  drainTimeoutSeconds: { value: 100 },
  architecture: { value: 'arm64' },
  'nativeBuilders[0].architecture': { value: 's390x', needs: NATIVE },
  'nativeBuilders[0].loadBalancerIP': { value: '192.168.80.116', needs: NATIVE },
  'nativeBuilders[0].name': { value: 'builder-arm', needs: NATIVE },
  'metrics.port': { value: 6061 },
  'metrics.serviceMonitor': { value: true, needs: { metrics: {} } },
  'metrics.scrapeAnnotations': { value: false, needs: { metrics: {} } },
  'metrics.monitoringNamespace': { value: 'observability' },
  'metrics.prometheusLabels': { value: { release: 'kube-prometheus-stack' }, needs: { metrics: { serviceMonitor: true } } },
  'metrics.dashboard.labelName': { value: 'dashboards', needs: { metrics: { dashboard: {} } } },
  'metrics.dashboard.labelValue': { value: 'yes', needs: { metrics: { dashboard: {} } } },
  'metrics.dashboard.title': { value: 'Builds', needs: { metrics: { dashboard: {} } } },
  'metrics.alerts.failureRatio': { value: 0.6, needs: { metrics: { alerts: {} } } },
  'metrics.alerts.restartsPerHour': { value: 5, needs: { metrics: { alerts: {} } } },
  'metrics.alerts.cacheHitRatio': { value: 0.3, needs: { metrics: { alerts: {} } } },
  'networkPolicy.allowedCidrs': { value: ['10.0.0.0/8'] },
  'networkPolicy.allowedNamespaces': { value: ['buildkit', 'ci'] },
  'networkPolicy.enabled': { value: false },
  'egress.allow[0].cidr': { value: '192.168.1.21/32', needs: CIDR_RULE },
  'egress.allow[0].namespace': { value: 'forge', needs: POD_RULE },
  'egress.allow[0].podLabels': { value: { app: 'forgejo' }, needs: POD_RULE },
  'egress.allow[0].port': { value: 3001, needs: CIDR_RULE },
  'egress.allow[0].protocol': { value: 'UDP', needs: CIDR_RULE },
  'egress.dns.namespace': { value: 'openshift-dns' },
  'egress.dns.podLabels': { value: { 'dns.operator.openshift.io/daemonset-dns': 'default' } },
  'egress.dns.port': { value: 5353 },
  'egress.clusterCidrs': { value: ['203.0.113.0/24'] },
  'egress.enabled': { value: false },
  clusterDomain: { value: 'cluster.example' },
  certSecretName: { value: 'builder-tls' },
  certRevision: { value: 'abc123' },
  addressPool: { value: 'builds' },
  loadBalancer: { value: 'cilium' },
  legacyMetallbAnnotations: { value: true },
  legacyAppArmorAnnotation: { value: true },
  podSecurity: { value: 'baseline' },
  'seccompProfile.install': { value: 'node', needs: BASELINE },
  'seccompProfile.localhostProfile': { value: 'custom/buildkit.json', needs: BASELINE },
  appArmorProfile: { value: 'buildkit-rootless', needs: BASELINE },
  'registryCache.name': { value: 'hub-cache', needs: { registryCache: { size: '20Gi' } } },
  'registryCache.size': { value: '20Gi' },
  'registryCache.persistent': { value: true, needs: { registryCache: { size: '20Gi' } } },
  'registryCache.storageClassName': { value: 'fast', needs: { registryCache: { size: '20Gi', persistent: true } } },
  'registryCache.upstream': { value: 'https://ghcr.io', needs: { registryCache: { size: '20Gi' } } },
  'registryCache.credentialsSecret': { value: 'hub-credentials', needs: { registryCache: { size: '20Gi' } } },
  'registryCache.image': { value: `registry:2.8.2${digest('c')}`, needs: { registryCache: { size: '20Gi' } } },
  'registryCache.scheduling.nodeSelector': { value: { pool: 'cache' }, needs: { registryCache: { size: '20Gi' } } },
  'registryCache.scheduling.tolerations[0].key': {
    value: 'other',
    needs: { registryCache: { size: '20Gi', ...TOLERATION } },
  },
  'registryCache.scheduling.tolerations[0].operator': {
    value: 'Exists',
    needs: { registryCache: { size: '20Gi', scheduling: { tolerations: [{ key: 'dedicated', effect: 'NoSchedule' }] } } },
  },
  'registryCache.scheduling.tolerations[0].value': { value: 'ci', needs: { registryCache: { size: '20Gi', ...TOLERATION } } },
  'registryCache.scheduling.tolerations[0].effect': { value: 'NoExecute', needs: { registryCache: { size: '20Gi', ...TOLERATION } } },
  'registryCache.scheduling.tolerations[0].tolerationSeconds': {
    value: 60,
    needs: { registryCache: { size: '20Gi', scheduling: { tolerations: [{ key: 'dedicated', effect: 'NoExecute' }] } } },
  },
  maxParallelism: { value: 3 },
  'history.maxAge': { value: '24h' },
  'history.maxEntries': { value: 50 },
  seLinuxType: { value: 'spc_t' },
  registries: { value: { 'registry.lan:5000': { http: true } } },
  registryCaCertificates: { value: { 'corp-ca.pem': CERTIFICATE } },
  registryKeypairSecret: { value: 'registry-keypairs' },
  runtimeDefaultCapabilities: { value: true },
  'cacheGuard.enabled': { value: false },
  'cacheGuard.intervalSeconds': { value: 10 },
  'scheduling.nodeSelector': { value: { pool: 'builds' } },
  'scheduling.tolerations[0].key': { value: 'other', needs: TOLERATION },
  'scheduling.tolerations[0].operator': {
    value: 'Exists',
    needs: { scheduling: { tolerations: [{ key: 'dedicated', effect: 'NoSchedule' }] } },
  },
  'scheduling.tolerations[0].value': { value: 'ci', needs: TOLERATION },
  'scheduling.tolerations[0].effect': { value: 'NoExecute', needs: TOLERATION },
  'scheduling.tolerations[0].tolerationSeconds': {
    value: 60,
    needs: { scheduling: { tolerations: [{ key: 'dedicated', effect: 'NoExecute' }] } },
  },
};

/** What the setting at `path` (`a.b[0].c`) takes, as config.ts is checked against it. */
export function leafAt(path: string): Leaf {
  let node: any = CHART_PROPS_SHAPE;
  for (const key of path.split(/\.|(?=\[)/).filter((k) => !k.startsWith('['))) node = Array.isArray(node[key]) ? node[key][0] : node[key];
  return node;
}

/** Every setting's path, from the shape config.ts is checked against: a new setting needs a sample here. */
export function settingPaths(shape: object, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([key, inner]) => {
    const path = `${prefix}${key}`;
    if (typeof inner === 'string') return [path];
    if (Array.isArray(inner)) return settingPaths(inner[0], `${path}[0].`);
    return settingPaths(inner, `${path}.`);
  });
}

/** A copy of `config` with the setting at `path` (`a.b[0].c`) set to `value`. */
export function withSetting(config: Config, path: string, value: unknown): Config {
  const copy = structuredClone(config);
  const keys = path.split(/\.|(?=\[)/).map((k) => (k.startsWith('[') ? Number(k.slice(1, -1)) : k));
  let node: any = copy;
  for (const [i, key] of keys.entries()) {
    if (i === keys.length - 1) node[key] = value;
    else node = node[key] ??= typeof keys[i + 1] === 'number' ? [] : {};
  }
  return copy;
}
