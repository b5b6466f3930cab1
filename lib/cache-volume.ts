import { Construct } from 'constructs';
import { KubePersistentVolumeClaim, KubePersistentVolumeClaimProps, Quantity, Volume, VolumeMount } from '../imports/k8s';
import { MANAGED_BY } from './labels';
import { checkDnsLabel, checkDnsSubdomain, checkQuantity } from './validation';

/** Where BuildKit keeps its state and cache inside the rootless image. */
export const BUILDKIT_STATE_DIR = '/home/user/.local/share/buildkit';
const VOLUME = 'cache';

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
   * @default '50Gi'
   */
  readonly size?: string;

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

/** The daemon's state directory: an emptyDir by default, a Longhorn-backed claim, or a claim per replica. */
export class CacheVolume extends Construct {
  /** Size in bytes, for the daemon's GC limits. */
  public readonly sizeBytes: number;
  public readonly size: string;
  public readonly perReplica: boolean;
  /** The shared claim, when persistent and not per replica; such a claim serves exactly one daemon. */
  public readonly claim?: KubePersistentVolumeClaim;
  /** The StatefulSet's claim template, when per replica. */
  public readonly claimTemplate?: KubePersistentVolumeClaimProps;

  constructor(scope: Construct, id: string, props: CacheVolumeProps = {}) {
    super(scope, id);
    this.size = props.size ?? '50Gi';
    this.sizeBytes = checkQuantity('CacheVolume', 'size', this.size, '50Gi');
    const persistent = props.persistent ?? false;
    this.perReplica = props.perReplica ?? false;
    if (this.perReplica && !persistent) {
      throw new Error('CacheVolume: invalid perReplica true: a claim per replica is a persistent cache; set persistent true as well');
    }
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
