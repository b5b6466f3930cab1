import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart } from 'cdk8s';
import { BuildkitChart } from '../lib/buildkit-chart';
import { synthesize, synthesizeAll } from '../lib/synth';
import { ROOT, readTree, treeDigest } from './support/dist';

describe('synthesize', () => {
  let work: string;
  let outdir: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'buildkit-synth-'));
    outdir = join(work, 'dist');
    mkdirSync(outdir);
    writeFileSync(join(outdir, 'buildkit.k8s.yaml'), 'previous\n');
    writeFileSync(join(outdir, 'stale.k8s.yaml'), 'a chart that no longer exists\n');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  test('a failing build leaves the previous output untouched and no staging folder behind', () => {
    const before = treeDigest(outdir);
    expect(() => synthesize(outdir, (app) => new BuildkitChart(app, 'buildkit', { port: 70000 }))).toThrow(/invalid port 70000/);
    expect(treeDigest(outdir)).toEqual(before);
    expect(readdirSync(work)).toEqual(['dist']);
  });

  test('a failure while writing YAML also leaves the previous output untouched', () => {
    const before = treeDigest(outdir);
    const unserializable = (app: any) => {
      const chart = new Chart(app, 'broken');
      chart.toJson = () => {
        throw new Error('cannot render');
      };
    };
    expect(() => synthesize(outdir, unserializable)).toThrow('cannot render');
    expect(treeDigest(outdir)).toEqual(before);
    expect(readdirSync(work)).toEqual(['dist']);
  });

  test('a successful build replaces the whole folder: removed charts disappear', () => {
    synthesize(outdir, (app) => new BuildkitChart(app, 'buildkit'));
    expect([...readTree(outdir).keys()]).toEqual(['buildkit.k8s.yaml']);
    expect(readTree(outdir).get('buildkit.k8s.yaml')!.toString()).toContain('kind: Deployment');
    expect(readdirSync(work)).toEqual(['dist']);
  });

  test('writes a folder that does not exist yet', () => {
    rmSync(outdir, { recursive: true });
    synthesize(outdir, (app) => new BuildkitChart(app, 'buildkit'));
    expect([...readTree(outdir).keys()]).toEqual(['buildkit.k8s.yaml']);
  });

  test('a failure removes the folders it made to hold its outputs, innermost first, and no other', () => {
    // x/ and x/a/ are new: x/b/ is made inside x/, so x/ empties only once x/b/ is gone.
    mkdirSync(join(work, 'kept'));
    const outputs = [
      { outdir: join(work, 'x', 'a', 'dist'), build: (app: any) => new BuildkitChart(app, 'buildkit') },
      { outdir: join(work, 'x', 'b', 'dist'), build: (app: any) => new BuildkitChart(app, 'buildkit', { port: 70000 }) },
      { outdir: join(work, 'kept', 'dist'), build: (app: any) => new BuildkitChart(app, 'buildkit') },
    ];
    expect(() => synthesizeAll(outputs)).toThrow(/invalid port 70000/);
    expect(readdirSync(work).sort()).toEqual(['dist', 'kept']);
    expect(readdirSync(join(work, 'kept'))).toEqual([]);
  });

  test('each output is staged beside it under a name .gitignore keeps out of git, should the synth be killed', () => {
    const seen: string[] = [];
    synthesize(outdir, (app) => {
      seen.push(...readdirSync(work));
      new BuildkitChart(app, 'buildkit');
    });
    const staging = seen.filter((n) => n !== 'dist');
    expect(staging).toEqual([expect.stringMatching(/^\.dist\.staging-/)]);
    const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n');
    expect(ignored).toContain('.dist.staging-*');
  });
});
