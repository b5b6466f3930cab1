import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { ROOT } from './support/dist';

/** GitHub's workflow parser on these files: errors and the converted template of each (see workflow-parse.mjs). */
function parse(files: Array<{ name: string; content: string }>): Array<{ name: string; errors: string[]; template: any }> {
  const out = execFileSync('node', ['--import', 'tsx', join(__dirname, 'support', 'workflow-parse.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(files),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

const FORGES = ['.github/workflows', '.gitea/workflows'];
const files = FORGES.flatMap((dir) =>
  readdirSync(join(ROOT, dir))
    .sort()
    .map((f) => ({ name: `${dir}/${f}`, content: readFileSync(join(ROOT, dir, f), 'utf8') })),
);
// A broken workflow goes along, in the same parser process, to prove the parser rejects one.
const BROKEN = { name: 'broken.yml', content: 'on: push\njobs:\n  test:\n    runs_on: ubuntu-latest\n    steps:\n      - run: npm test\n' };
const [broken, ...parsed] = parse([BROKEN, ...files]);
const workflow = (name: string) => parsed.find((p) => p.name === `.github/workflows/${name}`)!.template;
const steps = (name: string) => workflow(name).jobs.flatMap((j: any) => j.steps);

/** The README's test command, from its "On a fresh machine" block. */
const readmeTest = /^(npm test)\b/m.exec(
  readFileSync(join(ROOT, 'README.md'), 'utf8').split('## On a fresh machine')[1].split('```')[1],
)![1];

test("every workflow parses without an error in GitHub's own parser, which does reject a broken one", () => {
  expect(files.map((f) => f.name)).toEqual([
    '.github/workflows/certificates.yml',
    '.github/workflows/ci.yml',
    '.gitea/workflows/certificates.yml',
    '.gitea/workflows/ci.yml',
  ]);
  expect(parsed.map((p) => [p.name, p.errors])).toEqual(files.map((f) => [f.name, []]));
  expect(broken.name).toBe(BROKEN.name);
  expect(broken.errors.length).toBeGreaterThan(0);
});

test('Gitea reads the same files as GitHub: the copies are byte-identical', () => {
  for (const f of readdirSync(join(ROOT, FORGES[0]))) {
    expect({ f, same: readFileSync(join(ROOT, FORGES[1], f), 'utf8') === readFileSync(join(ROOT, FORGES[0], f), 'utf8') }).toEqual({
      f,
      same: true,
    });
  }
});

test("ci runs on pull requests and pushes: npm ci, the README's test command and the linter, then a diff on failure", () => {
  expect(Object.keys(workflow('ci.yml').events).sort()).toEqual(['pull_request', 'push']);
  const runs = steps('ci.yml')
    .filter((s: any) => s.run)
    .map((s: any) => [s.run.trim(), s.if.expr]);
  expect(readmeTest).toBe('npm test');
  expect(runs.slice(0, 3)).toEqual([
    ['npm ci', 'success()'],
    [readmeTest, 'success()'],
    ['npm run lint', 'success()'],
  ]);
  expect(runs[3]).toEqual([expect.stringContaining('npm run -s synth && git diff --stat && git diff'), 'failure()']);
});

test("ci tests every Node line that package.json's engines admits, and no other", () => {
  const { test: job } = (load(files.find((f) => f.name === '.github/workflows/ci.yml')!.content) as any).jobs;
  const matrix = job.strategy.matrix.node as number[];
  expect(matrix).toEqual([20, 22, 24, 26]);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub Actions' expression syntax, meant literally
  expect(job.steps.find((s: any) => s.uses?.startsWith('actions/setup-node')).with['node-version']).toBe('${{ matrix.node }}');
  const engines: string = require('../package.json').engines.node;
  expect(engines.split(' || ').map((range) => Number(/^\^(\d+)/.exec(range)![1]))).toEqual(matrix);
});

test('certificates runs weekly: the keyless check with a 30-day threshold', () => {
  const cron = (load(files.find((f) => f.name === '.github/workflows/certificates.yml')!.content) as any).on.schedule[0].cron as string;
  const [minute, hour, dayOfMonth, month, dayOfWeek] = cron.split(' ');
  expect({ minute: /^\d+$/.test(minute), hour: /^\d+$/.test(hour), dayOfMonth, month, dayOfWeek: /^[0-6]$/.test(dayOfWeek) }).toEqual({
    minute: true,
    hour: true,
    dayOfMonth: '*',
    month: '*',
    dayOfWeek: true,
  });
  expect(
    steps('certificates.yml')
      .filter((s: any) => s.run)
      .map((s: any) => s.run.trim()),
  ).toEqual(['npm ci', 'npm run -s certs -- check --min-days 30']);
});

test.each(files.map((f) => f.name))('%s: least permissions, actions pinned to a commit, no secret', (name) => {
  const { content } = files.find((f) => f.name === name)!;
  expect((load(content) as any).permissions).toEqual({ contents: 'read' });
  const uses = [...content.matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]);
  expect(uses.length).toBeGreaterThan(0);
  expect(uses.filter((u) => !/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/.test(u))).toEqual([]);
  expect(content).not.toMatch(/secrets\./);
  expect(JSON.stringify(parsed.find((p) => p.name === name)!.template)).not.toMatch(/secrets/);
});
