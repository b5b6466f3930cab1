import { parse } from 'smol-toml';
import { gcLimitsFor, renderBuildkitdToml } from '../lib';
import { parseQuantity } from '../lib/quantity';

const GiB = 2 ** 30;

describe('GC limits follow the cache size', () => {
  test('a 50Gi cache keeps 5Gi, prunes above 37.5Gi, keeps 5Gi of the disk free', () => {
    expect(gcLimitsFor(50 * GiB)).toEqual({ reservedSpaceMiB: 5120, maxUsedSpaceMiB: 38400, minFreeSpaceMiB: 5120 });
  });

  test('the limits scale with the size and stay below it', () => {
    for (const size of [1, 10, 50, 200, 1000]) {
      const gc = gcLimitsFor(size * GiB);
      expect(gc.maxUsedSpaceMiB).toBeLessThan(size * 1024);
      expect(gc.reservedSpaceMiB).toBeLessThan(gc.maxUsedSpaceMiB);
    }
  });

  test('the rendered file is TOML that BuildKit reads with binary units', () => {
    const config = parse(renderBuildkitdToml(gcLimitsFor(20 * GiB))) as any;
    expect(config.worker.oci).toEqual({ enabled: true, gc: true, reservedSpace: '2048MiB', maxUsedSpace: '15360MiB', minFreeSpace: '2048MiB' });
    expect(config.worker.containerd).toEqual({ enabled: false });
    // go-units RAMInBytes, which BuildKit uses, accepts <number><unit>i<b>: never a bare percentage here.
    for (const v of Object.values(config.worker.oci).filter((x) => typeof x === 'string')) expect(v).toMatch(/^\d+MiB$/);
  });
});

describe('Kubernetes quantities', () => {
  test.each([
    ['50Gi', 50 * GiB], ['512Mi', 512 * 2 ** 20], ['1G', 1e9], ['500m', 0.5], ['2', 2], ['1.5Gi', 1.5 * GiB], ['1e3', 1000], ['.5', 0.5],
  ])('%s', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  test.each(['50GB', 'Gi', '', '-1Gi', '1.2.3', '5 Gi', '1gi'])('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});
