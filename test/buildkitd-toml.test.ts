import { parse } from 'smol-toml';
import { gcLimitsFor, renderBuildkitdToml } from '../lib/buildkitd-toml';
import { parseQuantity } from '../lib/quantity';

const GiB = 2 ** 30;

const TUNING = { maxParallelism: 2, historyMaxAge: '168h', historyMaxEntries: 300 };
// Every TOML key BuildKit v0.32.2 reads (its config structs' toml tags); it ignores others in silence.
const KNOWN_KEYS = new Set<string>(require('./fixtures/buildkit/config-keys-v0.32.2.json').config);

function keysOf(node: object, path = ''): string[] {
  return Object.entries(node).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? [`${path}${k}`, ...keysOf(v, `${path}${k}.`)] : [`${path}${k}`],
  );
}

describe('GC limits follow the cache size and its headroom', () => {
  test('a 50Gi cache with 12.5Gi headroom keeps 5Gi, prunes above 37.5Gi, wants 12.5Gi of the disk free', () => {
    expect(gcLimitsFor(50 * GiB, 12.5 * GiB)).toEqual({ reservedSpaceMiB: 5120, maxUsedSpaceMiB: 38400, minFreeSpaceMiB: 12800 });
  });

  test('the threshold is the size less the headroom, and stays above what GC keeps', () => {
    for (const [size, headroom] of [
      [10, 2],
      [10, 5],
      [50, 10],
      [200, 20],
      [1000, 100],
    ]) {
      const gc = gcLimitsFor(size * GiB, headroom * GiB);
      expect(gc.maxUsedSpaceMiB).toBe((size - headroom) * 1024);
      expect(gc.reservedSpaceMiB).toBeLessThan(gc.maxUsedSpaceMiB);
    }
  });

  test('the rendered file uses only keys BuildKit reads, with the types it reads them as', () => {
    const config = parse(renderBuildkitdToml(gcLimitsFor(20 * GiB, 5 * GiB), TUNING)) as any;
    expect(config.worker.oci).toEqual({
      enabled: true,
      gc: true,
      reservedSpace: '2048MiB',
      maxUsedSpace: '15360MiB',
      minFreeSpace: '5120MiB',
      'max-parallelism': 2,
    });
    expect(config.worker.containerd).toEqual({ enabled: false });
    expect(config.history).toEqual({ maxAge: '168h', maxEntries: 300 });
    expect(
      keysOf(config)
        .flatMap((k) => k.split('.'))
        .filter((k) => !KNOWN_KEYS.has(k)),
    ).toEqual([]);
    // go-units RAMInBytes, which BuildKit uses, accepts <number><unit>i<b>: never a bare percentage here.
    for (const key of ['reservedSpace', 'maxUsedSpace', 'minFreeSpace']) expect(config.worker.oci[key]).toMatch(/^\d+MiB$/);
    expect(Number.isInteger(config.worker.oci['max-parallelism'])).toBe(true);
    expect(Number.isInteger(config.history.maxEntries)).toBe(true);
  });

  test('the key check would catch a misspelt key', () => {
    expect(KNOWN_KEYS.has('maxParallelism')).toBe(false);
    expect(KNOWN_KEYS.has('max-parallelism')).toBe(true);
  });
});

describe('Kubernetes quantities', () => {
  test.each([
    ['50Gi', 50 * GiB],
    ['512Mi', 512 * 2 ** 20],
    ['1G', 1e9],
    ['500m', 0.5],
    ['2', 2],
    ['1.5Gi', 1.5 * GiB],
    ['1e3', 1000],
    ['.5', 0.5],
  ])('%s', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  test.each(['50GB', 'Gi', '', '-1Gi', '1.2.3', '5 Gi', '1gi'])('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});
