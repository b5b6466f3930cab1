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
 * Absolute limits for a cache volume of the given size that keeps `headroomBytes` free above the GC
 * threshold. BuildKit's defaults are percentages of the disk, which on an emptyDir is the node's whole disk,
 * far beyond the volume's sizeLimit (the kubelet evicts the pod past it). GC runs at most once a minute, so
 * the headroom must hold what the builds write in a minute.
 */
export function gcLimitsFor(cacheBytes: number, headroomBytes: number): GcLimits {
  const mib = Math.floor(cacheBytes / MiB);
  const headroom = Math.ceil(headroomBytes / MiB);
  return {
    reservedSpaceMiB: Math.floor(mib * 0.1),
    maxUsedSpaceMiB: mib - headroom,
    minFreeSpaceMiB: headroom,
  };
}

/** What buildkitd.toml says besides the GC limits. */
export interface DaemonTuning {
  /** `[worker.oci] max-parallelism`: build steps the daemon runs at once, across all builds. */
  readonly maxParallelism: number;
  /** `[history] maxAge`: a Go duration such as '168h'. */
  readonly historyMaxAge: string;
  /** `[history] maxEntries`. */
  readonly historyMaxEntries: number;
  /** `[registry."HOST"]` tables, file paths already absolute. */
  readonly registries?: Readonly<Record<string, RenderedRegistry>>;
}

/** One `[registry."HOST"]` table as BuildKit's resolver config reads it (util/resolver/config). */
export interface RenderedRegistry {
  readonly mirrors?: readonly string[];
  readonly http?: boolean;
  readonly insecure?: boolean;
  readonly ca?: readonly string[];
  readonly keypair?: ReadonlyArray<{ readonly key: string; readonly cert: string }>;
}

/** buildkitd.toml for the rootless OCI worker. BuildKit parses these sizes as binary units. */
export function renderBuildkitdToml(gc: GcLimits, tuning: DaemonTuning): string {
  const config = {
    worker: {
      oci: {
        enabled: true,
        gc: true,
        reservedSpace: `${gc.reservedSpaceMiB}MiB`,
        maxUsedSpace: `${gc.maxUsedSpaceMiB}MiB`,
        minFreeSpace: `${gc.minFreeSpaceMiB}MiB`,
        'max-parallelism': tuning.maxParallelism,
      },
      containerd: { enabled: false },
    },
    history: { maxAge: tuning.historyMaxAge, maxEntries: tuning.historyMaxEntries },
    ...(tuning.registries && Object.keys(tuning.registries).length ? { registry: tuning.registries } : {}),
  };
  return `# Written by buildkit-service from the chart's settings; change those, not this file.\n${stringify(config)}`;
}
