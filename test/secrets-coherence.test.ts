import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildkitChart } from '../lib/buildkit-chart';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { rotate } from '../lib/certs/ca-rotation';
import { check } from '../lib/certs/check';
import { secretsProblems } from '../lib/certs/coherence';
import { init, issueClient, sync } from '../lib/certs/commands';
import type { CertsContext } from '../lib/certs/issuing';
import { paths } from '../lib/certs/layout';
import { synthRepository } from '../lib/repository';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument } from '../lib/sops/sops-file';
import { synthesizeAll } from '../lib/synth';
import { certsContext, chartPlan, editSops, encryptAsOwner } from './support/certs';
import { readTree, treeDigest } from './support/dist';
import { keyPool } from './support/keys';
import { bundlesConnect } from './support/tls';

const newKeyPair = keyPool();
const MOVED: BuildkitChartProps = { namespace: 'ci-builds', name: 'builder', loadBalancerIP: '10.20.0.15', port: 2345 };
let work: string;
let root: string;
let lines: string[];
const context = (settings: BuildkitChartProps = {}): CertsContext =>
  certsContext(root, settings, { log: (l) => lines.push(l), newKeyPair });
const problems = (settings: BuildkitChartProps) => secretsProblems(root, chartPlan(settings));
const decrypt = async (path: string) =>
  (await decryptDocument(readFileSync(path, 'utf8'), parseIdentities(readFileSync(paths(root).ageKey, 'utf8')))) as any;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'buildkit-coherence-'));
  root = join(work, 'secrets');
  lines = [];
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('without the key, secrets/ is checked against config.ts', () => {
  test('a fresh clone has no secrets/ yet: nothing to disagree with, and the synth works', () => {
    expect(problems(MOVED)).toEqual([]);
    expect(synthRepository({ root: work, config: MOVED, secrets: root })).toEqual(['dist', 'gitops/dist']);
  });

  test("after init, the seed's settings agree", async () => {
    await init(context());
    expect(problems({})).toEqual([]);
  });

  test('a new namespace: every file that names the old one, with what config.ts says and the command', async () => {
    await init(context());
    expect(problems({ namespace: 'ci-builds' })).toEqual([
      `${root}/apps/namespace.yaml: creates namespace "buildkit", config.ts says "ci-builds": run \`npm run certs -- sync\``,
      `${root}/apps/buildkit-daemon-certs.yaml: holds Secret "buildkit-daemon-certs" in "buildkit", config.ts says "buildkit-daemon-certs" in "ci-builds": run \`npm run certs -- sync\``,
      `${root}/apps/buildkit-daemon-certs.yaml: the server certificate does not cover DNS:buildkitd.ci-builds, DNS:buildkitd.ci-builds.svc, DNS:buildkitd.ci-builds.svc.cluster.local, which config.ts serves: run \`npm run certs -- sync\``,
      `${root}/apps/buildkit-client-certs.yaml: holds Secret "buildkit-client-certs" in "buildkit", config.ts says "buildkit-client-certs" in "ci-builds": run \`npm run certs -- sync\``,
    ]);
  });

  test('a malformed YAML file in secrets/apps: synth, the coherence check and the commands name the file and the line, on one line', async () => {
    await init(context());
    const broken = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: team\n   bad: [\n';
    writeFileSync(join(root, 'apps', 'team.yaml'), broken);
    const line = `${root}/apps/team.yaml: line 5, column 7: not valid YAML: bad indentation of a mapping entry`;
    const before = treeDigest(work);
    expect(() => synthRepository({ root: work, config: {}, secrets: root })).toThrow(new Error(line));
    expect(treeDigest(work)).toEqual(before);
    // A daemon's own file, broken: the commands that read it name it too.
    writeFileSync(paths(root).server('buildkit-daemon-certs'), broken);
    const daemonLine = `${root}/apps/buildkit-daemon-certs.yaml: line 5, column 7: not valid YAML: bad indentation of a mapping entry`;
    expect(() => problems({})).toThrow(new Error(daemonLine));
    await expect(sync(context())).rejects.toThrow(new Error(daemonLine));
    await expect(check(context())).rejects.toThrow(new Error(daemonLine));
  });

  test('a new IP: the SANs annotation shows the certificate does not cover it', async () => {
    await init(context());
    expect(problems({ loadBalancerIP: '10.20.0.15' })).toEqual([
      `${root}/apps/buildkit-daemon-certs.yaml: the server certificate does not cover IP:10.20.0.15, which config.ts serves: run \`npm run certs -- sync\``,
    ]);
    expect(problems({ port: 2345 })).toEqual([]);
  });

  test('a renamed Secret: the new file is missing and the old one would still be applied', async () => {
    await init(context());
    expect(problems({ certSecretName: 'team-certs' })).toEqual([
      `${root}/apps/team-certs.yaml: is missing, config.ts names Secret "team-certs" in "buildkit": run \`npm run certs -- sync\``,
      `${root}/apps/buildkit-daemon-certs.yaml: Secret "buildkit-daemon-certs" is not one config.ts uses, yet GitOps applies it: run \`npm run certs -- sync\``,
    ]);
  });

  test('a moved in-cluster client, and a missing namespace seed', async () => {
    await init(context());
    expect(problems({ clientNamespace: 'ci-runners' })).toEqual([
      `${root}/apps/namespace.yaml: creates namespace "buildkit", config.ts says "buildkit", "ci-runners": run \`npm run certs -- sync\``,
      `${root}/apps/buildkit-client-certs.yaml: holds Secret "buildkit-client-certs" in "buildkit", config.ts says "buildkit-client-certs" in "ci-runners": run \`npm run certs -- sync\``,
    ]);
    rmSync(paths(root).namespace);
    expect(problems({})).toEqual([`${root}/apps/namespace.yaml: is missing, config.ts says "buildkit": run \`npm run certs -- sync\``]);
  });

  test('the synth refuses an incoherent repo in one line, and writes neither output', async () => {
    await init(context());
    synthRepository({ root: work, config: {}, secrets: root });
    const before = treeDigest(work);
    let error: Error | undefined;
    try {
      synthRepository({ root: work, config: { namespace: 'ci-builds' }, secrets: root });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toBe(
      `${root}/apps/namespace.yaml: creates namespace "buildkit", config.ts says "ci-builds": run \`npm run certs -- sync\` (and 3 more that the same command fixes)`,
    );
    expect(treeDigest(work)).toEqual(before);
  });
});

describe('certs sync re-homes everything with the key', () => {
  test('namespace, name, IP and port: every Secret moves, the server certificate covers the new names, clients still connect', async () => {
    await init(context());
    await issueClient(context(), 'laptop');
    await issueClient(context(), 'elsewhere', { namespace: 'tools' });
    const caBefore = (await decrypt(paths(root).ca)).stringData['ca.pem'];
    // A public copy gone stale before the move is replaced by the new certificate, not the old one.
    const publicCert = join(paths(root).publicOf(paths(root).server('buildkit-daemon-certs')), 'cert.pem');
    writeFileSync(publicCert, 'stale\n');
    await sync(context(MOVED));
    expect(problems(MOVED)).toEqual([]);
    const daemon = await decrypt(paths(root).server('buildkit-daemon-certs'));
    expect(daemon.metadata).toMatchObject({ name: 'buildkit-daemon-certs', namespace: 'ci-builds' });
    expect(readFileSync(publicCert, 'utf8')).toBe(daemon.stringData['cert.pem']);
    expect(daemon.stringData['ca.pem']).toBe(caBefore);
    expect((await decrypt(paths(root).client('laptop'))).metadata.namespace).toBe('ci-builds');
    expect((await decrypt(paths(root).client('elsewhere'))).metadata.namespace).toBe('tools');
    expect((await decrypt(paths(root).ca)).metadata.namespace).toBe('ci-builds');
    const client = (await decrypt(paths(root).client('in-cluster'))).stringData;
    expect(await bundlesConnect(daemon.stringData, client, 'builder.ci-builds.svc.cluster.local')).toBe(true);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^new server certificate for buildkit-daemon-certs: the old one missed DNS:builder, DNS:builder\.ci-builds, .*, IP:10\.20\.0\.15$/,
      ),
    );
  });

  test('sync puts back a Secret name and a SANs annotation changed by hand, and moves the in-cluster client to clientNamespace', async () => {
    await init(context());
    const daemonPath = paths(root).server('buildkit-daemon-certs');
    const sans = (await decrypt(daemonPath)).metadata.annotations['buildkit-service/server-sans'];
    await editSops(root, daemonPath, (doc) => {
      doc.metadata.name = 'renamed-by-hand';
    });
    await sync(context({ clientNamespace: 'runners' }));
    expect((await decrypt(daemonPath)).metadata.name).toBe('buildkit-daemon-certs');
    expect((await decrypt(paths(root).client('in-cluster'))).metadata.namespace).toBe('runners');
    await editSops(root, daemonPath, (doc) => {
      doc.metadata.annotations['buildkit-service/server-sans'] = 'DNS:stale';
    });
    await sync(context({ clientNamespace: 'runners' }));
    expect((await decrypt(daemonPath)).metadata.annotations['buildkit-service/server-sans']).toBe(sans);
    // The Secret renamed inside its file (sops edit), not the file: sync moves the file and keeps the certificate.
    const cert = (await decrypt(daemonPath)).stringData['cert.pem'];
    await editSops(root, daemonPath, (doc) => {
      doc.metadata.name = 'team-certs';
    });
    await sync(context({ clientNamespace: 'runners', certSecretName: 'team-certs' }));
    expect(existsSync(daemonPath)).toBe(false);
    expect((await decrypt(paths(root).server('team-certs'))).stringData['cert.pem']).toBe(cert);
  });

  test('a second sync writes nothing; a port change alone keeps the certificate', async () => {
    await init(context());
    await sync(context(MOVED));
    const before = treeDigest(root);
    lines = [];
    await sync(context(MOVED));
    await sync(context({ ...MOVED, port: 4321 }));
    expect(treeDigest(root)).toEqual(before);
    expect(lines).toEqual([]);
  });

  test('a renamed Secret: the file follows the name, the old one is removed', async () => {
    await init(context());
    await sync(context({ certSecretName: 'team-certs' }));
    expect(existsSync(paths(root).server('buildkit-daemon-certs'))).toBe(false);
    expect((await decrypt(paths(root).server('team-certs'))).metadata.name).toBe('team-certs');
    expect(problems({ certSecretName: 'team-certs' })).toEqual([]);
    expect(lines).toContain(`removed ${root}/apps/buildkit-daemon-certs.yaml: its Secret has a new name`);
  });

  test('a renamed Secret is found among files that are not it; two candidates are refused, naming the rename', async () => {
    await init(context());
    const sopsSecret = (metadata: object) =>
      encryptAsOwner(root, { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', stringData: { token: 'x' } });
    // Beside ours in apps/: the team's own sops Secret, a client bundle, a file that is no YAML.
    const foreign = {
      'aa-registry.yaml': await sopsSecret({ name: 'registry', namespace: 'buildkit' }),
      'ab-client.yaml': await sopsSecret({
        name: 'ci',
        namespace: 'buildkit',
        labels: { 'app.kubernetes.io/managed-by': 'buildkit-service', 'buildkit-service/client': 'ci' },
      }),
      'notes.txt': 'not a Secret\n',
    };
    for (const [f, text] of Object.entries(foreign)) writeFileSync(join(root, 'apps', f), text);
    await sync(context({ certSecretName: 'team-certs' }));
    expect(lines.filter((l) => l.startsWith('removed'))).toEqual([
      `removed ${root}/apps/buildkit-daemon-certs.yaml: its Secret has a new name`,
    ]);
    for (const [f, text] of Object.entries(foreign)) expect(readFileSync(join(root, 'apps', f), 'utf8')).toBe(text);

    writeFileSync(join(root, 'apps', 'zz-copy.yaml'), readFileSync(paths(root).server('team-certs')));
    const before = treeDigest(root);
    await expect(sync(context({ certSecretName: 'third-certs' }))).rejects.toThrow(
      new Error(
        `${root}/apps/third-certs.yaml is missing and 2 other daemon ` +
          `Secret files could be it: rename the one for Secret third-certs to ${root}/apps/third-certs.yaml, then run \`npm run certs -- sync\``,
      ),
    );
    expect(treeDigest(root)).toEqual(before);
  });

  test('refuses a new server certificate mid CA rotation, naming how to finish it', async () => {
    await init(context());
    await rotate(context(), { ca: true });
    const before = treeDigest(root);
    await expect(sync(context({ loadBalancerIP: '10.20.0.15', name: 'builder' }))).rejects.toThrow(
      /^the server certificate of buildkit-daemon-certs misses DNS:builder, DNS:builder\.buildkit, .*, IP:10\.20\.0\.15, but a CA rotation is under way .*then `npm run certs -- rotate --finish-ca`\), then run `npm run certs -- sync`$/,
    );
    expect(treeDigest(root)).toEqual(before);
  });

  test('names the fix when no daemon Secret is found', async () => {
    mkdirSync(join(root, 'ca'), { recursive: true });
    await init(context());
    rmSync(paths(root).server('buildkit-daemon-certs'));
    await expect(sync(context())).rejects.toThrow(
      /buildkit-daemon-certs\.yaml is missing and no other daemon Secret file is in .*apps: restore it from git$/,
    );
  });
});

test('synthesizeAll: a failure in any output leaves every output as it was', () => {
  const a = join(work, 'a');
  const b = join(work, 'b');
  mkdirSync(a);
  writeFileSync(join(a, 'old.yaml'), 'previous\n');
  expect(() =>
    synthesizeAll([
      { outdir: a, build: (app) => new BuildkitChart(app, 'buildkit') },
      {
        outdir: b,
        build: () => {
          throw new Error('second output broken');
        },
      },
    ]),
  ).toThrow('second output broken');
  expect([...readTree(a).keys()]).toEqual(['old.yaml']);
  expect(existsSync(b)).toBe(false);
  expect(readTree(work).size).toBe(1);
});

test('certs check, with the key, finds a SANs annotation that does not match the certificate', async () => {
  await init(context());
  expect((await check(context())).ok).toBe(true);
  // Re-encrypted with a wrong annotation, as a hand edit with `sops edit` could leave it.
  await editSops(root, paths(root).server('buildkit-daemon-certs'), (doc) => {
    doc.metadata.annotations['buildkit-service/server-sans'] = 'DNS:elsewhere';
  });
  const result = await check(context());
  expect(result.reports[1].problems).toEqual([
    "its buildkit-service/server-sans annotation does not list the certificate's SANs: run `npm run certs -- sync`",
  ]);
});
