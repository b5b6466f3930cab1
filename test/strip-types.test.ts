import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/dist';

// scripts/strip-types.js, the hook every entry point runs under, in a project of its own: its cache lands in
// that project's node_modules/.cache, and esbuild comes from ours.

// Types, an enum and a type-only import: what esbuild must strip or turn into JavaScript.
const SOURCE = `import type { Shape } from './shape';
enum Size { Small = 1, Large = 2 }
interface Labelled {
  label: string;
}
const item: Shape & Labelled = { label: process.argv[2] ?? 'none', size: Size.Large };
console.log(\`\${item.label} \${item.size}\`);
`;

let project: string;
let cache: string;
beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'buildkit-strip-types-'));
  mkdirSync(join(project, 'scripts'));
  cpSync(join(ROOT, 'scripts', 'strip-types.js'), join(project, 'scripts', 'strip-types.js'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules', 'esbuild'), join(project, 'node_modules', 'esbuild'));
  cache = join(project, 'node_modules', '.cache', 'strip-types');
  writeFileSync(join(project, 'shape.ts'), 'export interface Shape { size: number }\n');
  writeFileSync(join(project, 'main.ts'), SOURCE);
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

function run(file: string, ...args: string[]) {
  const result = spawnSync('node', [...args, '--require', './scripts/strip-types.js', file, 'argument'], {
    cwd: project,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
const cached = () => readdirSync(cache).sort();

test('runs a .ts entry point with its types stripped, and keeps the JavaScript in the cache', () => {
  expect(run('main.ts')).toEqual({ status: 0, stdout: 'argument 2\n', stderr: '' });
  // main.ts only: the import of shape.ts was type-only and went with the types.
  expect(cached()).toHaveLength(1);
  expect(readFileSync(join(cache, cached()[0]), 'utf8')).not.toMatch(/interface|: Shape/);
});

test('a second run takes the cached JavaScript', () => {
  run('main.ts');
  const [file] = cached();
  writeFileSync(join(cache, file), 'console.log("from the cache");\n');
  expect(run('main.ts').stdout).toBe('from the cache\n');
});

test('a changed file is transformed again, and its old entry is not taken', () => {
  run('main.ts');
  writeFileSync(join(project, 'main.ts'), SOURCE.replace('Large = 2', 'Large = 3'));
  expect(run('main.ts').stdout).toBe('argument 3\n');
  expect(cached()).toHaveLength(2);
});

test('one file under two paths has two entries: the cache is by path and content', () => {
  cpSync(join(project, 'main.ts'), join(project, 'copy.ts'));
  run('main.ts');
  run('copy.ts');
  expect(cached()).toHaveLength(2);
});

test('without a writable cache it still runs, transforming every time', () => {
  mkdirSync(join(project, 'node_modules', '.cache'));
  writeFileSync(cache, 'a file where the cache folder would go\n');
  expect(run('main.ts')).toEqual({ status: 0, stdout: 'argument 2\n', stderr: '' });
  expect(readdirSync(join(project, 'node_modules', '.cache'))).toEqual(['strip-types']);
});

test("with source maps on, a stack trace names the .ts file's own line; without them no map is kept", () => {
  writeFileSync(join(project, 'main.ts'), SOURCE.replace('console.log', 'throw new Error'));
  run('main.ts');
  expect(readFileSync(join(cache, cached()[0]), 'utf8')).not.toContain('sourceMappingURL');
  // Line 7 of the source, though esbuild drops the interface's three lines above it; the entry made without a
  // map is not taken.
  expect(run('main.ts', '--enable-source-maps').stderr).toContain(`${join(project, 'main.ts')}:7:7`);
  expect(cached()).toHaveLength(2);
});
