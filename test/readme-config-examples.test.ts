import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Testing } from 'cdk8s';
import { transformSync } from 'esbuild';
import { type ServiceSettings, serviceCharts } from '../lib/tenants';
import { ROOT } from './support/dist';
import { loadValidator, type ManifestValidator } from './support/k8s-schema';

// Users copy these into config.ts: each must type as config.ts declares it, pass the synth's checks and give
// objects the API server accepts.
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const DECLARED = /^export const config: (\w+) = /m.exec(readFileSync(join(ROOT, 'config.ts'), 'utf8'))?.[1];

interface Example {
  readonly line: number;
  readonly kind: 'config' | 'tenant' | 'library';
  readonly code: string;
}

/** Every TypeScript block of the README: a `config` for config.ts, one entry of its `tenants`, or a chart of one's own. */
function examples(readme: string): Example[] {
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => {
    const code = m[1];
    const line = readme.slice(0, m.index).split('\n').length;
    const kind = code.startsWith('export const config: ')
      ? 'config'
      : /^(\/\/.*\n)*\{ name: /.test(code)
        ? 'tenant'
        : code.startsWith('import ')
          ? 'library'
          : undefined;
    if (!kind) throw new Error(`README.md:${line}: a TypeScript block that is no config, tenant or chart of one's own`);
    return { line, kind, code };
  });
}

/** The settings an example gives, run as config.ts would be: types stripped, a tenant in a `tenants` of its own. */
function settingsOf({ kind, code }: Example): ServiceSettings {
  const source = kind === 'tenant' ? `export const config: ServiceSettings = { tenants: [\n${code}] };` : code;
  // The README elides a certificate's body; a registry CA must still be a PEM certificate.
  const filled = source.replace(
    "'-----BEGIN CERTIFICATE-----\\n...'",
    "'-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n'",
  );
  const module: { exports: { config?: ServiceSettings } } = { exports: {} };
  new Function('module', 'exports', transformSync(filled, { loader: 'ts', format: 'cjs' }).code)(module, module.exports);
  return module.exports.config!;
}

const all = examples(README);
const configs = all.filter((e) => e.kind === 'config');
/** Each example with what it sets, so a test's name says which it is wherever it moves in the README. */
const named = all
  .filter((e) => e.kind !== 'library')
  .map((e): [string, Example] => {
    const set = settingsOf(e);
    return [e.kind === 'tenant' ? `a tenant with ${Object.keys(set.tenants![0]).join(', ')}` : Object.keys(set).join(', '), e];
  });

test('the README has config examples, a tenant among them, and every TypeScript block is one kind or another', () => {
  expect(DECLARED).toBeDefined();
  expect(configs.length).toBeGreaterThanOrEqual(4);
  expect(all.filter((e) => e.kind === 'tenant').length).toBeGreaterThanOrEqual(1);
  expect(() => examples('```ts\negress: {},\n```\n')).toThrow(
    "README.md:1: a TypeScript block that is no config, tenant or chart of one's own",
  );
});

test('every config example declares config as config.ts does', () => {
  expect(configs.map((e) => `README.md:${e.line}: ${/^export const config: (\w+) = /.exec(e.code)?.[1]}`)).toEqual(
    configs.map((e) => `README.md:${e.line}: ${DECLARED}`),
  );
});

describe('every example synthesizes objects Kubernetes 1.30 accepts', () => {
  let validator: ManifestValidator;
  beforeAll(() => {
    validator = loadValidator('1.30.0');
  });

  test.each(named)('%s', (_what, example) => {
    const charts = serviceCharts(new App(), settingsOf(example));
    const manifests = [...charts.values()].flatMap((chart) => Testing.synth(chart));
    expect(manifests.map((m) => m.kind)).toContain('Deployment');
    expect(manifests.flatMap((m) => validator.validate(m).map((error) => `${m.kind}/${m.metadata.name}: ${error}`))).toEqual([]);
  });
});

/** The README's charts of one's own, run as a consumer's program would, with `app` given and the package as `lib/`. */
const composed = all.filter((e) => e.kind === 'library' && e.code.includes('new Chart('));

describe("every chart of one's own in the README gives objects Kubernetes 1.30 accepts, and confines its daemons' build steps", () => {
  let validator: ManifestValidator;
  beforeAll(() => {
    validator = loadValidator('1.30.0');
  });

  test('there is one', () => {
    expect(composed.length).toBeGreaterThanOrEqual(1);
  });

  test.each(composed.map((e): [string, Example] => [`README.md:${e.line}`, e]))('%s', (_where, { code }) => {
    const app = Testing.app();
    const packages: Record<string, unknown> = { cdk8s: require('cdk8s'), 'buildkit-service': require('../lib') };
    const run = new Function('require', 'app', transformSync(code, { loader: 'ts', format: 'cjs' }).code);
    run((name: string) => {
      if (!(name in packages)) throw new Error(`the example imports ${name}, which a consumer of this package does not have`);
      return packages[name];
    }, app);
    const manifests = app.charts.flatMap((chart) => Testing.synth(chart));
    expect(manifests.flatMap((m) => validator.validate(m).map((error) => `${m.kind}/${m.metadata.name}: ${error}`))).toEqual([]);
    const daemons = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet');
    expect(daemons.length).toBeGreaterThanOrEqual(1);
    const confining = (labels: Record<string, string>) =>
      manifests.filter(
        (m) =>
          m.kind === 'NetworkPolicy' &&
          m.spec.policyTypes.includes('Egress') &&
          Object.entries(m.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
      );
    expect(daemons.filter((d) => confining(d.spec.template.metadata.labels).length === 0).map((d) => d.metadata.name)).toEqual([]);
  });
});
