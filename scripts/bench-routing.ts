import { rankEndpoints } from '../lib/endpoint-chooser';

/**
 * Routing benchmark, a model (not a measurement): a CI workload over N replicas, each with its own
 * byte-bounded LRU cache, comparing how often a build starts cold under each routing strategy.
 * Usage: npm run bench:routing [-- BUILDS]
 */
const BUILDS = Number(process.argv[2] ?? 3000);
const PARAMS = {
  repositories: 60,
  zipfExponent: 1.1,
  footprintGiB: [0.5, 8] as const,
  cacheGiB: 37.5 /* maxUsedSpace of a 50Gi cache */,
  runners: 4,
  restartChance: 0.002,
  seed: 7,
};

function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class LruCache {
  private readonly entries = new Map<string, number>();
  private used = 0;
  constructor(private readonly capacity: number) {}
  /** True when the repository's layers were there (a warm build); either way they are there afterwards. */
  build(repo: string, size: number): boolean {
    const warm = this.entries.delete(repo);
    if (warm) this.used -= size;
    this.entries.set(repo, size);
    this.used += size;
    for (const [key, bytes] of this.entries) {
      if (this.used <= this.capacity) break;
      this.entries.delete(key);
      this.used -= bytes;
    }
    return warm;
  }
  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}

type Strategy = (repo: string, runner: number, replicas: string[], random: () => number) => string;
const strategies: Record<string, Strategy> = {
  random: (_r, _u, replicas, random) => replicas[Math.floor(random() * replicas.length)],
  'ClientIP affinity': (_r, runner, replicas) => replicas[runner % replicas.length],
  'rendezvous by repository': (repo, _u, replicas) => rankEndpoints(repo, replicas)[0],
  'rendezvous, one replica down': (repo, _u, replicas) =>
    rankEndpoints(repo, replicas).filter((e) => e !== replicas[0] || replicas.length === 1)[0],
};

function simulate(strategy: Strategy, count: number): number {
  // One stream for the workload, another for random balancing: every strategy sees the same builds.
  const random = prng(PARAMS.seed);
  const balance = prng(PARAMS.seed + 1);
  const weights = Array.from({ length: PARAMS.repositories }, (_, i) => 1 / (i + 1) ** PARAMS.zipfExponent);
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map(() => PARAMS.footprintGiB[0] + random() * (PARAMS.footprintGiB[1] - PARAMS.footprintGiB[0]));
  const replicas = Array.from({ length: count }, (_, i) => `10.0.0.${i + 1}:1234`);
  const caches = new Map(replicas.map((r) => [r, new LruCache(PARAMS.cacheGiB)]));
  let cold = 0;
  for (let b = 0; b < BUILDS; b++) {
    // The first repository whose cumulative weight passes a uniform pick.
    const pick = random() * total;
    let cumulative = 0;
    const repo = weights.findIndex((w) => {
      cumulative += w;
      return pick <= cumulative;
    });
    const runner = Math.floor(random() * PARAMS.runners);
    if (!caches.get(strategy(`repo-${repo}`, runner, replicas, balance))!.build(`repo-${repo}`, sizes[repo])) cold++;
    if (random() < PARAMS.restartChance) caches.get(replicas[Math.floor(random() * count)])!.clear();
  }
  return cold / BUILDS;
}

console.log(`Routing model (not a measurement): ${BUILDS} builds, ${JSON.stringify(PARAMS)}`);
console.log('cold-build ratio'.padEnd(32) + [1, 3, 5, 10].map((n) => `${n} replica${n > 1 ? 's' : ''}`.padStart(12)).join(''));
for (const [name, strategy] of Object.entries(strategies)) {
  console.log(name.padEnd(32) + [1, 3, 5, 10].map((n) => simulate(strategy, n).toFixed(3).padStart(12)).join(''));
}
