import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { BuildkitChart } from '../lib';
import { find } from './support/chart';
import { ROOT, readManifests } from './support/dist';

describe('the constructs as a library (npm install <repo>)', () => {
  // The package's own build (`npm run build`, which `prepare` runs on install): tsc's build mode compiles what
  // changed since the last build, and only checks hashes when nothing did (after `npm ci`, say).
  const work = mkdtempSync(join(ROOT, '.lib-test-'));
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

  test('another chart type-checks against the published declarations', () => {
    const consumer = join(work, 'consumer.ts');
    writeFileSync(
      consumer,
      `import { App, Chart } from 'cdk8s';
import { BuildkitDaemon, BuildkitService, CacheVolume, TlsBundle, BuildkitDaemonProps } from ${JSON.stringify(join(build, 'lib'))};
const chart = new Chart(new App(), 'team', { namespace: 'team' });
const props: BuildkitDaemonProps = { name: 'team-builder', tls: new TlsBundle(chart, 'Tls'), cache: new CacheVolume(chart, 'Cache') };
const daemon = new BuildkitDaemon(chart, 'Daemon', props);
new BuildkitService(chart, 'Service', { daemon, loadBalancerIP: '10.0.0.5' });
// @ts-expect-error replicas is a number
new BuildkitDaemon(chart, 'Wrong', { replicas: 'three' });
`,
    );
    execFileSync(
      join(ROOT, 'node_modules/.bin/tsc'),
      [
        '--noEmit',
        '--strict',
        '--esModuleInterop',
        '--skipLibCheck',
        '--types',
        'node',
        '--baseUrl',
        ROOT,
        '--typeRoots',
        join(ROOT, 'node_modules/@types'),
        consumer,
      ],
      { cwd: ROOT, stdio: 'pipe' },
    );
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
    expect(pkg.scripts.prepare).toBe('tsc -b tsconfig.build.json');
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
