import type { Volume, VolumeMount } from '../../imports/k8s';
import type { CacheVolume } from '../cache-volume';
import type { TlsBundle } from '../tls-bundle';
import { GUARD_SOCKET_MOUNT, GUARD_SOCKET_VOLUME } from './cache-guard';
import { CONFIG_DIR } from './container';
import type { RegistryVolume } from './registries';

/** The daemon's volumes and where its container mounts them: the cache, its ConfigMap, the certificates, registry files, the guard's socket. */
export function daemonVolumes(
  cache: CacheVolume,
  tls: TlsBundle,
  configMapName: string,
  registries: readonly RegistryVolume[],
  guardSocket: boolean,
): { volumes: Volume[]; mounts: VolumeMount[] } {
  return {
    volumes: [
      // A StatefulSet's per-replica claim comes from its claim template, not from a pod volume.
      ...(cache.volume ? [cache.volume] : []),
      { name: 'config', configMap: { name: configMapName } },
      tls.volume,
      ...registries.map((r) => r.volume),
      ...(guardSocket ? [GUARD_SOCKET_VOLUME] : []),
    ],
    mounts: [
      cache.volumeMount,
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      tls.volumeMount,
      ...registries.map((r) => ({ name: r.volume.name, mountPath: r.mountPath, readOnly: true })),
      ...(guardSocket ? [GUARD_SOCKET_MOUNT] : []),
    ],
  };
}
