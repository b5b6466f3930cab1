import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Testing } from 'cdk8s';
import { BuildkitChart } from '../lib';
import { find } from './support/chart';
import { ROOT, readManifests } from './support/dist';

const { satisfies } = require('semver');

describe('the constructs as a library (npm install <repo>)', () => {
  // The package's own build (`npm run build`, which `prepare` runs on install): tsc's build mode compiles what
  // changed since the last build, and only checks hashes when nothing did (after `npm ci`, say).
  const work = mkdtempSync(join(tmpdir(), 'buildkit-library-'));
  const build = join(ROOT, 'build');
  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'pipe' });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('the compiled JavaScript synthesizes what the TypeScript does', () => {
    const script = `const { Testing } = require('cdk8s'); const { BuildkitChart } = require(${JSON.stringify(join(build, 'lib'))});
      console.log(JSON.stringify(Testing.synth(new BuildkitChart(Testing.app(), 'buildkit', { replicas: 2, metrics: {} }))));`;
    const compiled = JSON.parse(execFileSync('node', ['-e', script], { cwd: ROOT, encoding: 'utf8' }));
    expect(compiled).toEqual(Testing.synth(new BuildkitChart(Testing.app(), 'buildkit', { replicas: 2, metrics: {} })));
  });

  test('a project made by `cdk8s init typescript-app` type-checks against the published declarations', () => {
    // The consumer's node_modules holds what installing this package brings: the package (package.json and
    // build/) and the lockfile's production packages, linked, outside this repository so nothing resolves to our
    // devDependencies. preserveSymlinks has tsc resolve from the links as from installed copies. The tsconfig
    // is the template's own: without skipLibCheck or esModuleInterop, our declarations are checked too.
    const project = join(work, 'consumer');
    const link = (name: string, target: string) => {
      mkdirSync(dirname(join(project, 'node_modules', name)), { recursive: true });
      symlinkSync(target, join(project, 'node_modules', name));
    };
    link('buildkit-service/build', build);
    cpSync(join(ROOT, 'package.json'), join(project, 'node_modules', 'buildkit-service', 'package.json'));
    const lock = require('../package-lock.json');
    const installed = Object.keys(lock.packages).filter((p) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(p) && !lock.packages[p].dev);
    for (const path of installed) link(path.slice('node_modules/'.length), join(ROOT, path));
    const templateFile = (name: string) =>
      JSON.parse(readFileSync(join(ROOT, 'node_modules/cdk8s-cli/templates/typescript-app', name), 'utf8'));
    const template = templateFile('tsconfig.json');
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...template.compilerOptions, noEmit: true, preserveSymlinks: true }, files: ['main.ts'] }),
    );
    writeFileSync(
      join(project, 'main.ts'),
      `import { App, Chart } from 'cdk8s';
import { BuildkitDaemon, BuildkitService, CacheVolume, TlsBundle, BuildkitDaemonProps, runCerts } from 'buildkit-service';
const chart = new Chart(new App(), 'team', { namespace: 'team' });
const props: BuildkitDaemonProps = { name: 'team-builder', tls: new TlsBundle(chart, 'Tls'), cache: new CacheVolume(chart, 'Cache') };
const daemon = new BuildkitDaemon(chart, 'Daemon', props);
new BuildkitService(chart, 'Service', { daemon, loadBalancerIP: '10.0.0.5' });
runCerts(process.argv.slice(2), (app) => new Chart(app, 'team'));
// @ts-expect-error replicas is a number
new BuildkitDaemon(chart, 'Wrong', { replicas: 'three' });
`,
    );
    // The TypeScript the template installs (5.9.x), not the one npm test type-checks with.
    expect(satisfies(require('typescript/package.json').version, templateFile('package.json').devDependencies.typescript)).toBe(true);
    const result = spawnSync('node', [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
    // The production packages, not all of them: @types/node-forge among them, jest's types not.
    expect(installed).toEqual(expect.arrayContaining(['node_modules/@types/node-forge', 'node_modules/cdk8s', 'node_modules/constructs']));
    expect(installed).not.toContain('node_modules/@types/jest');
  });

  test('the package holds the compiled library and its declarations, nothing else', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    const files: string[] = pack.files.map((f: any) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'build/lib/index.js',
        'build/lib/index.d.ts',
        'build/imports/k8s.js',
        'build/imports/k8s.d.ts',
      ]),
    );
    expect(files).toContain('build/profiles/seccomp/buildkit-rootless.json');
    expect(
      files.filter((f) => !/^(package\.json|README\.md|LICENSE|build\/(lib|imports)\/.+\.(js|d\.ts)|build\/profiles\/.+\.json)$/.test(f)),
    ).toEqual([]);
  });

  test('package.json points at the compiled entry point and builds it on install from git', () => {
    const pkg = require('../package.json');
    expect(pkg.main).toBe('build/lib/index.js');
    expect(pkg.types).toBe('build/lib/index.d.ts');
    // TypeScript 5.9 by path: typescript-7 (npm test's type-check) also installs a tsc, and either may own .bin/tsc.
    expect(pkg.scripts.prepare).toBe('node node_modules/typescript/bin/tsc -b tsconfig.build.json');
    expect(pkg.scripts.build).toBe(pkg.scripts.prepare);
  });
});

describe('examples/arm64-builder: the constructs composed differently', () => {
  const manifests = readManifests(join(ROOT, 'examples/arm64-builder/dist'));

  test('a native arm64 builder in its own namespace with its own certificates, cache and address', () => {
    const deployment = find(manifests, 'Deployment', 'arm64-builder');
    expect(manifests.every((m) => m.metadata.namespace === 'builds-arm64')).toBe(true);
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm64' });
    const volumes = deployment.spec.template.spec.volumes;
    expect(volumes.find((v: any) => v.name === 'certs').secret.secretName).toBe('arm64-builder-certs');
    expect(volumes.find((v: any) => v.name === 'cache').persistentVolumeClaim.claimName).toBe('arm64-builder-cache');
    expect(find(manifests, 'Service', 'arm64-builder').metadata.annotations['metallb.io/loadBalancerIPs']).toBe('192.168.80.120');
    expect(find(manifests, 'NetworkPolicy', 'arm64-builder').spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ci-runners'] }] } },
    ]);
    expect(manifests.filter((m) => m.kind === 'Namespace')).toEqual([]);
  });
});
