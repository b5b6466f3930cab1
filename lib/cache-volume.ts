import { Construct } from 'constructs';
import { KubePersistentVolumeClaim, type KubePersistentVolumeClaimProps, Quantity, type Volume, type VolumeMount } from '../imports/k8s';
import { MANAGED_BY } from './labels';
import { checkKnownKeys, type PropsShape } from './props-shape';
import { parseQuantity } from './quantity';
import { checkClaimSetting, checkDnsLabel, checkDnsSubdomain, checkQuantity, fail } from './validation';

/** Where BuildKit keeps its state and cache inside the rootless image. */
export const BUILDKIT_STATE_DIR = '/home/user/.local/share/buildkit';
const VOLUME = 'cache';
/**
 * The smallest cache accepted. GC starts at 75% of the size, and the cache guard prunes there within an
 * interval, so the last 25% must hold what builds write in that interval: at 10Gi that is 2.5Gi, about
 * 10 s at the 260 MB/s measured. Smaller volumes get evicted by the kubelet mid-build.
 */
export const MIN_CACHE_SIZE = '10Gi';

export interface CacheVolumeProps {
  /**
   * Keep the cache across pod restarts on a PersistentVolumeClaim instead of an emptyDir.
   * @default false
   */
  readonly persistent?: boolean;

  /**
   * With persistent: one claim per StatefulSet replica (a volumeClaimTemplate) instead of one shared claim.
   * @default false
   */
  readonly perReplica?: boolean;

  /**
   * Size of the cache: the emptyDir's sizeLimit or each claim's request. BuildKit's GC limits derive from it.
   * At least 10Gi (MIN_CACHE_SIZE).
   * @default '50Gi'
   */
  readonly size?: string;

  /**
   * Room kept free between BuildKit's GC threshold (maxUsedSpace) and the size. The cache guard prunes at
   * the threshold every few seconds (BuildKit's own GC at most once a minute), so this must hold what all
   * builds write in one guard interval: 260 MB/s was measured on 2 cores (README, "Disk"). Past the size the
   * kubelet evicts the pod. At least 2Gi, at most half the size.
   * @default - a quarter of the size
   */
  readonly headroom?: string;

  /**
   * Storage class of the claims (persistent only).
   * @default 'longhorn'
   */
  readonly storageClassName?: string;

  /**
   * Name of the shared claim (persistent, not per replica).
   * @default 'buildkitd-cache'
   */
  readonly claimName?: string;
}

export const CACHE_VOLUME_SHAPE: PropsShape<CacheVolumeProps> = {
  persistent: 'boolean',
  perReplica: 'boolean',
  size: 'string',
  headroom: 'string',
  storageClassName: 'string',
  claimName: 'string',
};
const MIN_HEADROOM = '2Gi';

/** The daemon's state directory: an emptyDir by default, a Longhorn-backed claim, or a claim per replica. */
export class CacheVolume extends Construct {
  /** Size in bytes, for the daemon's GC limits. */
  public readonly sizeBytes: number;
  /** Room above the GC threshold, in bytes. */
  public readonly headroomBytes: number;
  /** An emptyDir: the node's disk backs it, so the pod requests that much ephemeral storage. */
  public readonly ephemeral: boolean;
  public readonly size: string;
  public readonly perReplica: boolean;
  /** The shared claim, when persistent and not per replica; such a claim serves exactly one daemon. */
  public readonly claim?: KubePersistentVolumeClaim;
  /** The StatefulSet's claim template, when per replica. */
  public readonly claimTemplate?: KubePersistentVolumeClaimProps;

  constructor(scope: Construct, id: string, props: CacheVolumeProps = {}) {
    super(scope, id);
    this.size = props.size ?? '50Gi';
    checkKnownKeys('CacheVolume', props, CACHE_VOLUME_SHAPE);
    this.sizeBytes = checkQuantity('CacheVolume', 'size', this.size, '50Gi');
    if (this.sizeBytes < parseQuantity(MIN_CACHE_SIZE)!) {
      throw new Error(
        `CacheVolume: invalid size ${JSON.stringify(this.size)}: below the ${MIN_CACHE_SIZE} minimum, too small to hold ` +
          `what builds write between two garbage collections (the kubelet evicts the pod past the size); use at least ${MIN_CACHE_SIZE}`,
      );
    }
    this.headroomBytes =
      props.headroom === undefined ? Math.floor(this.sizeBytes / 4) : checkQuantity('CacheVolume', 'headroom', props.headroom, '10Gi');
    if (props.headroom !== undefined && (this.headroomBytes < parseQuantity(MIN_HEADROOM)! || this.headroomBytes > this.sizeBytes / 2)) {
      throw new Error(
        `CacheVolume: invalid headroom ${JSON.stringify(props.headroom)}: it must hold the writes of one cache-guard interval (at least ${MIN_HEADROOM}) ` +
          `and leave the cache at least half of the ${this.size} size; raise size or change headroom`,
      );
    }
    const persistent = props.persistent ?? false;
    this.perReplica = props.perReplica ?? false;
    if (this.perReplica && !persistent) {
      throw new Error('CacheVolume: invalid perReplica true: a claim per replica is a persistent cache; set persistent: true as well');
    }
    for (const prop of ['storageClassName', 'claimName'] as const) checkClaimSetting('CacheVolume', prop, props[prop], persistent);
    if (this.perReplica && props.claimName !== undefined) {
      fail('CacheVolume', 'claimName', props.claimName, `each replica's claim is named by its StatefulSet (${VOLUME}-<pod>); leave it out`);
    }
    this.ephemeral = !persistent;
    if (!persistent) return;
    const spec = {
      accessModes: ['ReadWriteOnce'],
      storageClassName: checkDnsSubdomain('CacheVolume', 'storageClassName', props.storageClassName ?? 'longhorn'),
      resources: { requests: { storage: Quantity.fromString(this.size) } },
    };
    if (this.perReplica) {
      this.claimTemplate = { metadata: { name: VOLUME, labels: { ...MANAGED_BY } }, spec };
    } else {
      this.claim = new KubePersistentVolumeClaim(this, 'Resource', {
        metadata: { name: checkDnsLabel('CacheVolume', 'claimName', props.claimName ?? 'buildkitd-cache'), labels: { ...MANAGED_BY } },
        spec,
      });
    }
  }

  /** The pod volume; undefined for a claim template, which the StatefulSet turns into a volume itself. */
  public get volume(): Volume | undefined {
    if (this.claimTemplate) return undefined;
    return this.claim
      ? { name: VOLUME, persistentVolumeClaim: { claimName: this.claim.name } }
      : { name: VOLUME, emptyDir: { sizeLimit: Quantity.fromString(this.size) } };
  }

  public get volumeMount(): VolumeMount {
    return { name: VOLUME, mountPath: BUILDKIT_STATE_DIR };
  }
}
