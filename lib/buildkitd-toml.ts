import { stringify } from 'smol-toml';

const MiB = 2 ** 20;

/** BuildKit's garbage-collection limits (BuildKit >= 0.17 names), in MiB. */
export interface GcLimits {
  /** Cache kept even when pruning. */
  readonly reservedSpaceMiB: number;
  /** Pruning starts above this. */
  readonly maxUsedSpaceMiB: number;
  /** Pruning starts when the disk under the cache has less free space than this. */
  readonly minFreeSpaceMiB: number;
}

/**
 * Absolute limits for a cache volume of the given size. BuildKit's defaults are percentages of the disk,
 * which on an emptyDir is the node's whole disk, far beyond the volume's sizeLimit (the kubelet evicts the
 * pod past it). Pruning at 75% leaves room for the build running when it starts.
 */
export function gcLimitsFor(cacheBytes: number): GcLimits {
  const mib = Math.floor(cacheBytes / MiB);
  return {
    reservedSpaceMiB: Math.floor(mib * 0.1),
    maxUsedSpaceMiB: Math.floor(mib * 0.75),
    minFreeSpaceMiB: Math.floor(mib * 0.1),
  };
}

/** buildkitd.toml for the rootless OCI worker. BuildKit parses these sizes as binary units. */
export function renderBuildkitdToml(gc: GcLimits): string {
  const config = {
    worker: {
      oci: {
        enabled: true,
        gc: true,
        reservedSpace: `${gc.reservedSpaceMiB}MiB`,
        maxUsedSpace: `${gc.maxUsedSpaceMiB}MiB`,
        minFreeSpace: `${gc.minFreeSpaceMiB}MiB`,
      },
      containerd: { enabled: false },
    },
  };
  return `# Written by buildkit-service from the cache size; change the chart's cache props, not this file.\n${stringify(config)}`;
}
