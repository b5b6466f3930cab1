import { Construct } from 'constructs';
import { KubePersistentVolumeClaim, Quantity, Volume, VolumeMount } from '../imports/k8s';
import { MANAGED_BY } from './labels';
import { checkDnsLabel, checkDnsSubdomain, checkQuantity } from './validation';

/** Where BuildKit keeps its state and cache inside the rootless image. */
export const BUILDKIT_STATE_DIR = '/home/user/.local/share/buildkit';

export interface CacheVolumeProps {
  /**
   * Keep the cache across pod restarts on a PersistentVolumeClaim instead of an emptyDir.
   * @default false
   */
  readonly persistent?: boolean;

  /**
   * Size of the cache: the emptyDir's sizeLimit or the claim's request. BuildKit's GC limits derive from it.
   * @default '50Gi'
   */
  readonly size?: string;

  /**
   * Storage class of the claim (persistent only).
   * @default 'longhorn'
   */
  readonly storageClassName?: string;

  /**
   * Name of the claim (persistent only).
   * @default 'buildkitd-cache'
   */
  readonly claimName?: string;
}

/** The daemon's state directory: an emptyDir by default, or a Longhorn-backed claim. */
export class CacheVolume extends Construct {
  /** Size in bytes, for the daemon's GC limits. */
  public readonly sizeBytes: number;
  /** True when the volume outlives the pod; such a volume serves exactly one daemon. */
  public readonly persistent: boolean;
  public readonly size: string;
  /** The claim, when persistent. */
  public readonly claim?: KubePersistentVolumeClaim;

  constructor(scope: Construct, id: string, props: CacheVolumeProps = {}) {
    super(scope, id);
    this.size = props.size ?? '50Gi';
    this.sizeBytes = checkQuantity('CacheVolume', 'size', this.size, '50Gi');
    this.persistent = props.persistent ?? false;
    if (this.persistent) {
      const storageClassName = checkDnsSubdomain('CacheVolume', 'storageClassName', props.storageClassName ?? 'longhorn');
      this.claim = new KubePersistentVolumeClaim(this, 'Resource', {
        metadata: { name: checkDnsLabel('CacheVolume', 'claimName', props.claimName ?? 'buildkitd-cache'), labels: { ...MANAGED_BY } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName,
          resources: { requests: { storage: Quantity.fromString(this.size) } },
        },
      });
    }
  }

  public get volume(): Volume {
    return this.claim
      ? { name: 'cache', persistentVolumeClaim: { claimName: this.claim.name } }
      : { name: 'cache', emptyDir: { sizeLimit: Quantity.fromString(this.size) } };
  }

  public get volumeMount(): VolumeMount {
    return { name: 'cache', mountPath: BUILDKIT_STATE_DIR };
  }
}
