import { type Container, Quantity, type SecurityContext, type Volume, type VolumeMount } from '../../imports/k8s';
import type { GcLimits } from '../buildkitd-toml';
import type { PropsShape } from '../props-shape';
import { checkBoundedInteger } from '../validation';
import { CONFIG_DIR, UID } from './container';

/** The guard that prunes the cache before a burst of writes passes the volume's limit. */
export interface CacheGuardSettings {
  /**
   * false: no guard; only BuildKit's GC (at most once a minute) bounds the cache, and a burst of writes can
   * pass the emptyDir's sizeLimit (the pod is evicted) or fill a claim (builds fail).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Seconds between two readings of the cache's usage, from 1 to 60. At most this long of writes (plus one
   * prune) lands on top of the GC threshold before the guard acts.
   * @default 5
   */
  readonly intervalSeconds?: number;
}

export const CACHE_GUARD_SHAPE: PropsShape<CacheGuardSettings> = { enabled: 'boolean', intervalSeconds: 'number' };

export const GUARD_CONTAINER = 'cache-guard';
/** A second listener of the daemon, on a volume the two containers share: nothing new on the network. */
export const GUARD_SOCKET_DIR = '/run/buildkit';
export const GUARD_SOCKET = `unix://${GUARD_SOCKET_DIR}/buildkitd.sock`;
const MB = 1_000_000;
const MiB = 1024 * 1024;

/** The guard's pod volume: the daemon's second socket, in memory. */
export const GUARD_SOCKET_VOLUME: Volume = { name: 'guard-socket', emptyDir: { medium: 'Memory', sizeLimit: Quantity.fromString('1Mi') } };
export const GUARD_SOCKET_MOUNT: VolumeMount = { name: 'guard-socket', mountPath: GUARD_SOCKET_DIR };

/** The interval, checked; undefined when the guard is off. */
export function guardInterval(owner: string, settings: CacheGuardSettings = {}): number | undefined {
  if (settings.enabled === false) return undefined;
  return checkBoundedInteger(
    owner,
    'cacheGuard.intervalSeconds',
    settings.intervalSeconds ?? 5,
    60,
    'a minute is what the GC throttle already gives',
    1,
  );
}

/**
 * The guard's container: the daemon's image and seccomp/AppArmor profile, no capabilities, no escalation,
 * a read-only root, small bounded resources. It prunes at the GC's own threshold (maxUsedSpace) down to
 * the same amount, so it does early what the GC would do at its next minute.
 */
export function cacheGuardContainer(image: string, limits: GcLimits, intervalSeconds: number, confinement: SecurityContext): Container {
  const threshold = limits.maxUsedSpaceMiB * MiB;
  const keepMB = Math.floor(threshold / MB);
  return {
    name: GUARD_CONTAINER,
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', `${CONFIG_DIR}/cache-guard.sh`, String(threshold), String(keepMB), String(intervalSeconds)],
    env: [{ name: 'GUARD_ADDR', value: GUARD_SOCKET }],
    resources: {
      requests: { cpu: Quantity.fromString('10m'), memory: Quantity.fromString('32Mi') },
      limits: { cpu: Quantity.fromString('200m'), memory: Quantity.fromString('128Mi') },
    },
    securityContext: {
      runAsUser: UID,
      runAsGroup: UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      seccompProfile: confinement.seccompProfile,
      appArmorProfile: confinement.appArmorProfile,
      seLinuxOptions: confinement.seLinuxOptions,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }, GUARD_SOCKET_MOUNT],
  };
}
