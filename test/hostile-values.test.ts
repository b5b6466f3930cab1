import { Testing } from 'cdk8s';
import { serviceCharts } from '../lib';
import { certsPlan } from '../lib/certs/plan';
import type { Leaf } from '../lib/props-shape';
import { isCustomResource } from './support/dist';
import { loadValidator } from './support/k8s-schema';
import { type Config, leafAt, SAMPLES, withSetting } from './support/setting-samples';

// config.ts is edited by hand and runs without tsc: a value of the right type can still be empty, span lines, run
// long or leave its range. Every setting given one is refused in one line that names it, or is accepted into
// objects the API server takes. A blank string is never read as "none" in silence.

const HOSTILE: Record<Leaf, readonly unknown[]> = {
  string: ['', ' ', 'a\nb', 'x'.repeat(300), '../etc'],
  number: [0, -1, 1.5, 2 ** 31],
  boolean: [],
  strings: [[''], ['a\nb'], ['x'.repeat(300)]],
  record: [{ '': 'x' }, { 'a b': 'c' }, { k: 'a\nb' }, { k: 'x'.repeat(300) }],
  object: [{}],
};

/** Settings where a blank string means what leaving them out does, as Kubernetes or the synth reads it. */
const BLANK_IS_NONE: Readonly<Record<string, string>> = {
  certRevision: 'the synth writes it from secrets/; a blank revision is none',
  'scheduling.tolerations[0].value': 'Kubernetes matches a blank toleration value as an absent one',
  'registryCache.scheduling.tolerations[0].value': 'Kubernetes matches a blank toleration value as an absent one',
};

/** As config.ts meets it: through serviceCharts, the entry point synth, certs and doctor share. */
function outcome(config: Config): { manifests: any[]; certs: unknown } | { refused: string; kind: string } {
  try {
    const [chart] = serviceCharts(Testing.app(), config).values();
    return { manifests: Testing.synth(chart), certs: certsPlan(chart) };
  } catch (e) {
    return { refused: (e as Error).message, kind: (e as Error).name };
  }
}

// The API server's rules, written here apart from lib/validation.ts's same patterns: a slip there must not blind this.
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What the API server would refuse: the schema, then names, labels, node selectors and tolerations by their rules. */
function refusedByApiServer(manifests: any[]): string[] {
  const validator = loadValidatorOnce();
  const problems: string[] = [];
  const labels = (where: string, map: Record<string, string> | undefined) => {
    for (const [key, value] of Object.entries(map ?? {})) {
      if (!LABEL_NAME.test(key) || key.length > 317) problems.push(`${where} key ${JSON.stringify(key)}`);
      if (!LABEL_VALUE.test(value)) problems.push(`${where} value ${JSON.stringify(value)}`);
    }
  };
  for (const m of manifests) {
    const at = `${m.kind}/${m.metadata.name}`;
    // Custom resources by their CRDs: k8s-schema.test, for every output; their values do not come from here.
    if (!isCustomResource(m)) problems.push(...validator.validate(m).map((e) => `${at}: ${e}`));
    if (!DNS_SUBDOMAIN.test(m.metadata.name) || m.metadata.name.length > 253) problems.push(`${at}: name`);
    labels(`${at} label`, m.metadata.labels);
    const pod = m.spec?.template?.spec;
    labels(`${at} nodeSelector`, pod?.nodeSelector);
    for (const t of pod?.tolerations ?? []) {
      if (t.key !== undefined && !LABEL_NAME.test(t.key)) problems.push(`${at} toleration key ${JSON.stringify(t.key)}`);
      if (t.value !== undefined && !LABEL_VALUE.test(t.value)) problems.push(`${at} toleration value ${JSON.stringify(t.value)}`);
    }
  }
  return problems;
}
let validator: ReturnType<typeof loadValidator> | undefined;
const loadValidatorOnce = () => (validator ??= loadValidator('1.30.0'));

const cases = Object.entries(SAMPLES).flatMap(([path, { needs = {} }]) =>
  HOSTILE[leafAt(path)].map((value) => [path, JSON.stringify(value).slice(0, 24), value, needs] as const),
);

test.each(cases)(
  '%s = %s: refused in one line that names it, or accepted into objects the API server takes',
  (path, _shown, value, needs) => {
    const result = outcome(withSetting(needs, path, value));
    if ('refused' in result) {
      expect(result.kind).toBe('Error'); // not a TypeError from deep inside
      expect(result.refused).toMatch(/^[\w ]+: (invalid|unknown setting) /);
      expect(result.refused).not.toContain('\n');
      expect(result.refused).toContain(path.split(/\.|\[\d+\]\.?/).pop());
    } else {
      expect(refusedByApiServer(result.manifests)).toEqual([]);
    }
  },
);

const blanks = Object.keys(SAMPLES).flatMap((path) =>
  leafAt(path) === 'string'
    ? ['', ' '].filter((b) => !(b === '' && path in BLANK_IS_NONE)).map((b) => [path, JSON.stringify(b), b] as const)
    : [],
);

test.each(blanks)('%s = %s: refused or changes the outcome, never read as none in silence', (path, _shown, blank) => {
  const needs = SAMPLES[path].needs ?? {};
  const given = outcome(withSetting(needs, path, blank));
  if (!('refused' in given)) expect(given).not.toEqual(outcome(withSetting(needs, path, undefined)));
});

test.each(Object.entries(BLANK_IS_NONE))('%s: blank is none, as documented (%s)', (path) => {
  const needs = SAMPLES[path].needs ?? {};
  expect(outcome(withSetting(needs, path, ''))).toEqual(outcome(withSetting(needs, path, undefined)));
});

test('the API server rules catch what they name', () => {
  const object = (metadata: object, spec = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata, ...spec });
  expect(refusedByApiServer([object({ name: 'ok', labels: { 'example.com/a_b': 'v-1', b: '' } })])).toEqual([]);
  expect(refusedByApiServer([object({ name: 'Bad_Name' })])).toEqual(['ConfigMap/Bad_Name: name']);
  expect(refusedByApiServer([object({ name: 'ok', labels: { 'a b': 'c' } })])).toEqual(['ConfigMap/ok label key "a b"']);
  expect(refusedByApiServer([object({ name: 'ok', labels: { k: 'x'.repeat(64) } })])).toEqual([
    `ConfigMap/ok label value "${'x'.repeat(64)}"`,
  ]);
});
