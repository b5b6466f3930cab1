import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SEED } from '../lib/settings';
import { synthChart } from './support/chart';
import { ROOT, readManifests } from './support/dist';

// Images are pinned by digest by default, the tag kept for people; Renovate moves both together.

const PINNED = /^[a-z0-9./-]+(:\d+)?[a-z0-9./-]*:[\w.-]+@sha256:[a-f0-9]{64}$/;
const images = (objects: any[]) =>
  objects.flatMap((o) =>
    [...(o.spec?.template?.spec?.containers ?? []), ...(o.spec?.template?.spec?.initContainers ?? [])].map((c) => c.image),
  );

test('every image in dist/ and in each example is pinned by tag and digest', () => {
  const folders = ['dist', ...readdirSync(join(ROOT, 'examples')).map((e) => join('examples', e, 'dist'))];
  const found = folders.flatMap((f) => images(readManifests(join(ROOT, f))));
  expect(found.length).toBeGreaterThan(4);
  expect(found.filter((image) => !PINNED.test(image))).toEqual([]);
  expect(new Set(images(synthChart({ registryCache: { size: '20Gi' } })))).toEqual(new Set([SEED.image, SEED.registryCacheImage]));
});

test('the pinned digests are the multi-arch index digests found in image-digests.md', () => {
  expect(SEED.image).toBe('moby/buildkit:v0.32.2-rootless@sha256:504731e577c20559c00f968f33219f30115e70be29ab96728d1d06e963fc494b');
  expect(SEED.registryCacheImage).toBe('registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const image of [SEED.image, SEED.registryCacheImage]) expect(readme).toContain(image.split('@')[1]);
});

test("Renovate's regex manager finds both images where the defaults live, tag and digest", () => {
  const renovate = JSON.parse(readFileSync(join(ROOT, 'renovate.json'), 'utf8'));
  const [manager] = renovate.customManagers;
  const file = manager.managerFilePatterns[0].slice(1, -1);
  expect(new RegExp(file).test('lib/settings.ts')).toBe(true);
  const settings = readFileSync(join(ROOT, 'lib/settings.ts'), 'utf8');
  const found = [...settings.matchAll(new RegExp(manager.matchStrings[0], 'g'))].map((m) => m.groups);
  expect(found).toEqual([
    { depName: 'moby/buildkit', currentValue: 'v0.32.2-rootless', currentDigest: SEED.image.split('@')[1] },
    { depName: 'registry', currentValue: '2.8.3', currentDigest: SEED.registryCacheImage.split('@')[1] },
  ]);
  // BuildKit's versioning keeps the -rootless suffix, so Renovate never proposes the rootful image.
  const rule = renovate.packageRules.find((r: any) => r.matchPackageNames?.includes('moby/buildkit'));
  const versioning = new RegExp(rule.versioning.slice('regex:'.length));
  expect([versioning.test('v0.32.2-rootless'), versioning.test('v0.32.2'), versioning.test('v0.35.1-rootless')]).toEqual([
    true,
    false,
    true,
  ]);
});
