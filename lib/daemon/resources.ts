import { Quantity } from '../../imports/k8s';
import type { CacheVolume } from '../cache-volume';
import type { PropsShape } from '../props-shape';
import { parseQuantity } from '../quantity';
import { checkBoundedInteger, checkQuantity } from '../validation';

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

const DEFAULT_CPU_REQUEST = '500m';
/** Memory per parallel build step, and for the daemon itself: the default limit is built from these. */
const STEP_MEMORY_GIB = 2;
const DAEMON_MEMORY_GIB = 2;
const MAX_PARALLELISM = 64;

const COMPUTE_SHAPE: PropsShape<ComputeResources> = { cpu: 'string', memory: 'string' };
export const DAEMON_RESOURCES_SHAPE: PropsShape<DaemonResources> = { requests: COMPUTE_SHAPE, limits: COMPUTE_SHAPE };

/** Build steps at once: as given (1 to 64), else the CPU request rounded up, at least 2. */
export function maxParallelismFor(owner: string, given: number | undefined, resources: DaemonResources | undefined): number {
  if (given !== undefined) return checkBoundedInteger(owner, 'maxParallelism', given, MAX_PARALLELISM, 'build steps at once', 1);
  const derived = Math.max(2, Math.ceil(parseQuantity(resources?.requests?.cpu ?? DEFAULT_CPU_REQUEST) ?? 0));
  if (derived <= MAX_PARALLELISM) return derived;
  // A large CPU request would otherwise derive a parallelism (and a memory limit) past the documented bound.
  console.warn(
    `${owner}: maxParallelism from the CPU request would be ${derived}; using ${MAX_PARALLELISM}, the most it takes (set maxParallelism to choose)`,
  );
  return MAX_PARALLELISM;
}

/** The quantities as the API takes them, and each one's amount (bytes, or cores) for comparisons. */
function quantities(owner: string, prop: string, values: ComputeResources) {
  const out: Record<string, Quantity> = {};
  const amounts: { cpu?: number; memory?: number } = {};
  for (const key of ['cpu', 'memory'] as const) {
    const value = values[key];
    if (value === undefined) continue;
    amounts[key] = checkQuantity(owner, `${prop}.${key}`, value, key === 'cpu' ? '500m' : '1Gi', key === 'memory' ? 2 ** 20 : 0);
    out[key] = Quantity.fromString(value);
  }
  return { out, amounts };
}

/**
 * Requests and limits with the defaults filled in. Memory: a limit that holds every parallel step, and a
 * request equal to it, so that neither the scheduler's overcommit nor node-pressure eviction (which takes
 * pods above their request first) ends running builds. The API server refuses a request above its limit.
 */
export function containerResources(owner: string, given: DaemonResources, parallelism: number, cache: CacheVolume) {
  // A field given as undefined takes its default, as an absent one does (a spread would drop the default).
  const limits: ComputeResources = {
    cpu: given.limits?.cpu,
    memory: given.limits?.memory ?? `${STEP_MEMORY_GIB * parallelism + DAEMON_MEMORY_GIB}Gi`,
  };
  const requests: ComputeResources = { cpu: given.requests?.cpu ?? DEFAULT_CPU_REQUEST, memory: given.requests?.memory ?? limits.memory };
  // Limits first: a memory request left out is the limit, whose error must name the limit the user wrote.
  const checkedLimits = quantities(owner, 'resources.limits', limits);
  const checkedRequests = quantities(owner, 'resources.requests', requests);
  const result = { requests: checkedRequests.out, limits: checkedLimits.out };
  // An emptyDir cache lives on the node's disk: reserve it, or the scheduler packs several caches onto one disk.
  if (cache.ephemeral) result.requests['ephemeral-storage'] = Quantity.fromString(cache.size);
  const floorGiB = parallelism * 0.5 + 0.5;
  if ((checkedLimits.amounts.memory ?? 0) < floorGiB * 2 ** 30) {
    throw new Error(
      `${owner}: invalid resources.limits.memory ${JSON.stringify(limits.memory)}: ${parallelism} parallel steps need at least ${floorGiB}Gi ` +
        "(512Mi each and the daemon's); raise the limit or lower maxParallelism",
    );
  }
  for (const key of ['cpu', 'memory'] as const) {
    const request = checkedRequests.amounts[key];
    const limit = checkedLimits.amounts[key];
    if (request !== undefined && limit !== undefined && request > limit) {
      throw new Error(
        `${owner}: invalid resources.requests.${key} ${JSON.stringify(requests[key])}: it exceeds the limit ${JSON.stringify(limits[key])}, ` +
          `which the API server refuses; lower the request or raise resources.limits.${key}`,
      );
    }
  }
  return result;
}
