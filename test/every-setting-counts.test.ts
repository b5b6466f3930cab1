import { Testing } from 'cdk8s';
import type { BuildkitChartProps } from '../lib';
import { BuildkitChart } from '../lib';
import { CHART_PROPS_SHAPE } from '../lib/buildkit-chart-props';
import { certsPlan } from '../lib/certs/plan';
import { type Config, SAMPLES, settingPaths, withSetting } from './support/setting-samples';

// Every setting config.ts takes counts: giving it changes what the chart synthesizes or hands the certificate
// commands, or whether the config is accepted. Given without what it needs (a storage class without a persistent
// cache), it still counts: it is refused. Ignored in silence, it would leave the user believing in a cache, a
// label or a rule they lack.

/** What the chart makes of a config: its manifests and what the certificate commands read, or the line refusing it. */
function outcome(config: Config): { manifests: unknown; certs: unknown } | { refused: string } {
  try {
    const chart = new BuildkitChart(Testing.app(), 'buildkit', config as BuildkitChartProps);
    return { manifests: Testing.synth(chart), certs: certsPlan(chart) };
  } catch (e) {
    return { refused: (e as Error).message };
  }
}

test('every setting has a sample, and the samples are settings', () => {
  expect(Object.keys(SAMPLES).sort()).toEqual(settingPaths(CHART_PROPS_SHAPE).sort());
  expect(withSetting({ a: { b: 1 } }, 'a.c[0].d', 2)).toEqual({ a: { b: 1, c: [{ d: 2 }] } });
  expect(withSetting({ a: [{ b: 1 }] }, 'a[0].b', 3)).toEqual({ a: [{ b: 3 }] });
});

test.each(Object.entries(SAMPLES))('%s: given where it matters, it is accepted and changes the outcome', (path, { value, needs = {} }) => {
  const after = outcome(withSetting(needs, path, value));
  expect(after).toHaveProperty('manifests');
  expect(after).not.toEqual(outcome(needs));
});

const needing = Object.entries(SAMPLES).filter(([, s]) => s.needs && !s.inertAlone);
test.each(needing)('%s: given without what it needs, it is refused in one line or changes the outcome', (path, { value }) => {
  const alone = outcome(withSetting({}, path, value));
  if ('refused' in alone) expect(alone.refused).not.toContain('\n');
  // Against the same config without it (its enclosing settings left, empty): `metrics: {}` alone adds metrics.
  else expect(alone).not.toEqual(outcome(withSetting({}, path, undefined)));
});

const inert = Object.entries(SAMPLES).flatMap(([path, s]) => (s.inertAlone ? [[path, s.inertAlone, s.value] as const] : []));
test.each(inert)('%s: alone it changes nothing, as its documentation says: %s', (path, _why, value) => {
  expect(outcome(withSetting({}, path, value))).toEqual(outcome({}));
});
