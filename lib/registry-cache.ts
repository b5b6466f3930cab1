import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { dump } from 'js-yaml';
import {
  IntOrString,
  KubeConfigMap,
  KubeDeployment,
  KubeNetworkPolicy,
  KubePersistentVolumeClaim,
  KubeService,
  Quantity,
} from '../imports/k8s';
import { NON_ROOT_POD } from './daemon/container';
import type { RegistrySettings } from './daemon/registries';
import { podScheduling, SCHEDULING_SHAPE, type SchedulingSettings } from './daemon/scheduling';
import { MANAGED_BY } from './labels';
import { checkKnownKeys, type PropsShape } from './props-shape';
import { SEED } from './settings';
import {
  checkClaimSetting,
  checkDnsLabel,
  checkDnsSubdomain,
  checkLabelName,
  checkLabelValue,
  checkPinnedImage,
  checkQuantity,
} from './validation';

export interface RegistryCacheProps {
  /**
   * Name of the Deployment, Service, ConfigMap and NetworkPolicy.
   * @default 'buildkit-registry-cache'
   */
  readonly name?: string;
  /** Storage for cached layers: the emptyDir's sizeLimit or the claim's request. Required: a cache needs a bound. */
  readonly size: string;
  /**
   * Keep the cached layers on a Longhorn claim instead of an emptyDir.
   * @default false
   */
  readonly persistent?: boolean;
  /**
   * Storage class of the claim (persistent only).
   * @default 'longhorn'
   */
  readonly storageClassName?: string;
  /**
   * The registry it caches.
   * @default 'https://registry-1.docker.io'
   */
  readonly upstream?: string;
  /**
   * A Secret in the namespace with `username` and `password` for the upstream (lifts Docker Hub's pull rate
   * limits). It is referenced by name only: its content never enters dist/.
   * @default - anonymous pulls
   */
  readonly credentialsSecret?: string;
  /**
   * The Distribution registry image.
   * @default 'registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373'
   */
  readonly image?: string;
  /**
   * Labels of the pods allowed to pull from it (the daemons'); a NetworkPolicy admits only them.
   * @default - no one: set it to the daemons' selector labels
   */
  readonly clientLabels?: Readonly<Record<string, string>>;
  /**
   * Which nodes its pod runs on: a node selector and tolerations.
   * @default - any node
   */
  readonly scheduling?: SchedulingSettings;
}

const PORT = 5000;
export const REGISTRY_CACHE_SHAPE: PropsShape<RegistryCacheProps> = {
  name: 'string',
  size: 'string',
  persistent: 'boolean',
  storageClassName: 'string',
  upstream: 'string',
  credentialsSecret: 'string',
  image: 'string',
  clientLabels: 'record',
  scheduling: SCHEDULING_SHAPE,
};

/**
 * The Distribution registry's config for a pull-through cache; storage path and address as in the pod. No
 * blob descriptor cache: when the proxy's 7-day expiry removes a blob that another repository shares, the
 * cache keeps vouching for it and every pull of it gets a 200 with no body (distribution#2367), until a restart.
 */
export function registryCacheConfig(upstream: string, storage = '/var/lib/registry', addr = `:${PORT}`): string {
  return dump({
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    http: { addr, headers: { 'X-Content-Type-Options': ['nosniff'] } },
    health: { storagedriver: { enabled: true, interval: '10s', threshold: 3 } },
    proxy: { remoteurl: upstream },
  });
}

/**
 * A pull-through cache (the Distribution project's registry in proxy mode) beside the daemons: one
 * Deployment, its config in a ConfigMap, storage on an emptyDir with a size limit or a Longhorn claim, a
 * ClusterIP Service, and a NetworkPolicy that admits only the daemons.
 */
export class RegistryCache extends Construct {
  public readonly name: string;
  /** host:port the daemons list as their mirror, from inside the cluster. */
  public readonly endpoint: string;
  /** The Service's port, which is also the pod's. */
  public readonly port = PORT;
  /** The labels its pods carry. */
  public readonly selectorLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: RegistryCacheProps) {
    super(scope, id);
    const owner = 'RegistryCache';
    checkKnownKeys(owner, props, REGISTRY_CACHE_SHAPE);
    this.name = checkDnsLabel(owner, 'name', props.name ?? 'buildkit-registry-cache');
    if (props.size === undefined) throw new Error(`${owner}: invalid size undefined: a cache needs a bound; set size, such as 50Gi`);
    checkQuantity(owner, 'size', props.size, '50Gi', 2 ** 30);
    // An empty pod selector selects every pod: `{}` would admit the whole namespace.
    for (const [name, value] of Object.entries(props.clientLabels ?? {})) {
      checkLabelName(owner, 'clientLabels key', name, 'app.kubernetes.io/name');
      checkLabelValue(owner, `clientLabels["${name}"]`, value, 'buildkit');
    }
    if (props.clientLabels !== undefined && Object.keys(props.clientLabels).length === 0) {
      throw new Error(
        `${owner}: invalid clientLabels {}: it would admit every pod in the namespace; give the daemons' labels, or leave it out to admit no one`,
      );
    }
    const upstream = props.upstream ?? 'https://registry-1.docker.io';
    if (!/^https?:\/\/[a-z0-9.-]+(:\d+)?\/?$/.test(upstream)) {
      throw new Error(
        `${owner}: invalid upstream ${JSON.stringify(upstream)}: use the registry's URL, such as https://registry-1.docker.io`,
      );
    }
    const image = checkPinnedImage(owner, 'image', props.image ?? SEED.registryCacheImage, 'registry:2.8.3');
    const labels = {
      'app.kubernetes.io/name': 'registry',
      'app.kubernetes.io/instance': this.name,
      'app.kubernetes.io/component': 'pull-through-cache',
    };
    this.selectorLabels = labels;
    const config = registryCacheConfig(upstream);
    const configMap = new KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels: { ...labels, ...MANAGED_BY } },
      data: { 'config.yml': config },
    });

    checkClaimSetting(owner, 'storageClassName', props.storageClassName, props.persistent ?? false);
    const storage = props.persistent
      ? {
          name: 'storage',
          persistentVolumeClaim: {
            claimName: new KubePersistentVolumeClaim(this, 'Claim', {
              metadata: { name: `${this.name}-storage`, labels: { ...MANAGED_BY } },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: checkDnsSubdomain(owner, 'storageClassName', props.storageClassName ?? 'longhorn'),
                resources: { requests: { storage: Quantity.fromString(props.size) } },
              },
            }).name,
          },
        }
      : { name: 'storage', emptyDir: { sizeLimit: Quantity.fromString(props.size) } };
    const credentials =
      props.credentialsSecret === undefined
        ? []
        : ['username', 'password'].map((key) => ({
            name: `REGISTRY_PROXY_${key.toUpperCase()}`,
            valueFrom: { secretKeyRef: { name: checkDnsLabel(owner, 'credentialsSecret', props.credentialsSecret!), key } },
          }));
    const probe = (periodSeconds: number) => ({
      httpGet: { path: '/v2/', port: IntOrString.fromString('registry') },
      periodSeconds,
      timeoutSeconds: 5,
    });

    new KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: { ...labels, ...MANAGED_BY } },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        // One claim, one writer: never two pods on it.
        strategy: props.persistent ? { type: 'Recreate' } : undefined,
        template: {
          metadata: { labels, annotations: { 'checksum/config': createHash('sha256').update(config).digest('hex') } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            ...podScheduling(owner, props.scheduling),
            securityContext: { ...NON_ROOT_POD, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'registry',
                image,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ name: 'registry', containerPort: PORT, protocol: 'TCP' }],
                env: credentials.length ? credentials : undefined,
                readinessProbe: probe(10),
                livenessProbe: { ...probe(30), failureThreshold: 5 },
                resources: {
                  requests: { cpu: Quantity.fromString('100m'), memory: Quantity.fromString('128Mi') },
                  limits: { memory: Quantity.fromString('512Mi') },
                },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/docker/registry', readOnly: true },
                  { name: 'storage', mountPath: '/var/lib/registry' },
                ],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: configMap.name } }, storage],
          },
        },
      },
    });
    const service = new KubeService(this, 'Service', {
      metadata: { name: this.name, labels: { ...labels, ...MANAGED_BY } },
      spec: {
        type: 'ClusterIP',
        selector: labels,
        ports: [{ name: 'registry', port: PORT, targetPort: IntOrString.fromString('registry'), protocol: 'TCP' }],
      },
    });
    new KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: this.name, labels: { ...labels, ...MANAGED_BY } },
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress'],
        // An empty `from` would admit every source: without clients, no rule at all, which admits no one.
        ingress: props.clientLabels
          ? [
              {
                from: [{ podSelector: { matchLabels: { ...props.clientLabels } } }],
                ports: [{ port: IntOrString.fromNumber(PORT), protocol: 'TCP' }],
              },
            ]
          : [],
      },
    });
    this.endpoint = `${service.name}:${PORT}`;
  }
}

/** Registry settings with the pull-through cache at `mirror` (if any) as docker.io's first mirror, over plain HTTP inside the cluster. */
export function withCacheMirror(registries: Readonly<Record<string, RegistrySettings>>, mirror?: string): Record<string, RegistrySettings> {
  if (!mirror) return { ...registries };
  const hub = registries['docker.io'] ?? {};
  return {
    ...registries,
    'docker.io': { ...hub, mirrors: [mirror, ...(hub.mirrors ?? []).filter((m) => m !== mirror)] },
    [mirror]: { ...registries[mirror], http: true },
  };
}
