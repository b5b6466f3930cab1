import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { load } from 'js-yaml';
import forge from 'node-forge';
import { decryptSops } from 'sops-age';
import { BuildkitChart } from '../lib/buildkit-chart';
import { BuildkitDaemon } from '../lib/buildkit-daemon';
import * as certs from '../lib/certs';
import { paths } from '../lib/certs/layout';
import { runCerts } from '../lib/cli/certs';
import { createCa, issueClientCertificate, issueServerCertificate } from '../lib/pki/issue';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument } from '../lib/sops/sops-file';
import { TlsBundle } from '../lib/tls-bundle';
import { certsContext, editSops } from './support/certs';
import { ROOT, readTree } from './support/dist';
import { keyPool } from './support/keys';
import { bundlesConnect, handshake } from './support/tls';

const newKeyPair = keyPool();
let work: string;
let root: string;
let lines: string[];
const context = (settings = {}) => certsContext(root, settings, { log: (l) => lines.push(l), newKeyPair });
const identities = () => parseIdentities(readFileSync(paths(root).ageKey, 'utf8'));
const bundle = async (path: string) => ((await decryptDocument(readFileSync(path, 'utf8'), identities())) as any).stringData;
const daemonFile = () => paths(root).server('buildkit-daemon-certs');
/** Rewrites values of an encrypted Secret, as a hand edit with `sops edit` would. */
const editSecret = (path: string, values: Record<string, string>) => editSops(root, path, (doc) => Object.assign(doc.stringData, values));
const pems = (bundleText: string) => bundleText.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;

/** Does a client bundle complete mutual TLS with the daemon as secrets/ configures it now? */
const connects = async (client: Record<string, string>) => bundlesConnect(await bundle(daemonFile()), client);

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'buildkit-lifecycle-'));
  root = join(work, 'secrets');
  lines = [];
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A consumer's project: its own chart, as the README shows it (its own daemon, Secret, namespace and address). */
const project = mkdtempSync(join(tmpdir(), 'buildkit-consumer-'));
symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
writeFileSync(
  join(project, 'chart.ts'),
  `import { App, Chart } from 'cdk8s';
import { BuildkitDaemon, BuildkitService, CacheVolume, TlsBundle } from ${JSON.stringify(join(ROOT, 'lib'))};

export function teamChart(app: App) {
  const chart = new Chart(app, 'team', { namespace: 'team' });
  const daemon = new BuildkitDaemon(chart, 'Daemon', {
    name: 'team-builder',
    tls: new TlsBundle(chart, 'Tls', { secretName: 'team-builder-certs' }),
    cache: new CacheVolume(chart, 'Cache', { size: '20Gi' }),
  });
  new BuildkitService(chart, 'Service', { daemon, loadBalancerIP: '10.0.0.5' });
}
`,
);
// Its certs entry point: three lines, as the README gives them.
writeFileSync(
  join(project, 'certs.ts'),
  `import { runCerts } from ${JSON.stringify(join(ROOT, 'lib'))};
import { teamChart } from './chart';
runCerts(process.argv.slice(2), teamChart).then((code) => { process.exitCode = code; });
`,
);
const { teamChart } = require(join(project, 'chart.ts')) as { teamChart: (app: App) => void };
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('the commands serve whatever the app composes', () => {
  test('a consumer chart: init, issue-client, export and check, and its own certs entry point', async () => {
    const quiet = { log: (...l: string[]) => lines.push(...l), error: (l: string) => lines.push(l) };
    const run = (...args: string[]) => runCerts([...args, '--secrets', root], teamChart, quiet, undefined, newKeyPair);
    expect(await run('init')).toBe(0);
    expect(await run('issue-client', 'ci')).toBe(0);
    expect(await run('export', 'ci', '--out', join(work, 'bundle'))).toBe(0);
    expect(lines).toContain(
      `docker buildx create --name buildkit-builder --node team-builder --driver remote --driver-opt cacert=${work}/bundle/ca.pem,cert=${work}/bundle/cert.pem,key=${work}/bundle/key.pem tcp://10.0.0.5:1234`,
    );
    const server = await bundle(paths(root).server('team-builder-certs'));
    expect(
      ((await decryptDocument(readFileSync(paths(root).server('team-builder-certs'), 'utf8'), identities())) as any).metadata.namespace,
    ).toBe('team');
    const client = await bundle(paths(root).client('ci'));
    expect(await bundlesConnect(server, client, 'team-builder.team.svc.cluster.local')).toBe(true);

    // The consumer's own entry point, run as a command.
    const printed = execFileSync('node', ['--require', 'tsx/cjs', 'certs.ts', 'check', '--secrets', root], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(printed).toMatch(
      /^OK {3}server \(team-builder-certs\): CN=team-builder, .*SANs DNS:team-builder, DNS:team-builder\.team, DNS:team-builder\.team\.svc, DNS:team-builder\.team\.svc\.cluster\.local, DNS:localhost, IP Address:10\.0\.0\.5, IP Address:127\.0\.0\.1$/m,
    );
    expect(printed.split('\n').filter((l) => l.startsWith('OK   '))).toHaveLength(4);
  });

  test('each TlsBundle gets its own server certificate; two Secrets of one name in two namespaces are refused', () => {
    const app = new App();
    new BuildkitChart(app, 'buildkit', {
      architecture: 'amd64',
      nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.114' }],
    });
    teamChart(app);
    const plan = certs.certsPlan(app);
    expect(plan.servers.map((s) => [s.secretName, s.namespace, s.commonName])).toEqual([
      ['buildkit-daemon-certs', 'buildkit', 'buildkitd'],
      ['team-builder-certs', 'team', 'team-builder'],
    ]);
    expect(plan.servers[0].ips).toEqual(['192.168.80.110', '192.168.80.114', '127.0.0.1']);
    expect(plan.servers[0].endpoints).toEqual([
      { name: 'buildkitd', address: 'tcp://192.168.80.110:1234', platform: 'linux/amd64' },
      { name: 'buildkitd-arm64', address: 'tcp://192.168.80.114:1234', platform: 'linux/arm64' },
    ]);
    expect(plan.namespaces).toEqual([
      { name: 'buildkit', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
      { name: 'team' },
    ]);

    const clash = new App();
    teamChart(clash);
    const other = new Chart(clash, 'other', { namespace: 'other' });
    new BuildkitDaemon(other, 'D', { tls: new TlsBundle(other, 'T', { secretName: 'team-builder-certs' }) });
    expect(() => certs.certsPlan(clash)).toThrow(
      /^Secret team-builder-certs is mounted in namespaces team and other; secrets\/apps names files after the Secret: give each TlsBundle its own secretName$/,
    );
    expect(() => certs.certsPlan(new App())).toThrow(/^the app holds no BuildkitDaemon/);
  });

  test('sync with two daemons: a lone stray file is not guessed to be one of two missing Secrets', async () => {
    const twoDaemons = (certSecretName?: string) => {
      const app = new App();
      new BuildkitChart(app, 'buildkit', { certSecretName });
      teamChart(app);
      return { ...context(), plan: certs.certsPlan(app) };
    };
    await certs.init(twoDaemons());
    expect(readdirSync(join(root, 'apps')).sort()).toEqual([
      'buildkit-client-certs.yaml',
      'buildkit-daemon-certs.yaml',
      'namespace.yaml',
      'team-builder-certs.yaml',
    ]);
    // One Secret renamed: the one file no daemon claims is it; the other daemon's file stays.
    await certs.sync(twoDaemons('renamed-certs'));
    expect(readdirSync(join(root, 'apps')).sort()).toEqual([
      'buildkit-client-certs.yaml',
      'namespace.yaml',
      'renamed-certs.yaml',
      'team-builder-certs.yaml',
    ]);
    rmSync(paths(root).server('team-builder-certs'));
    await expect(certs.sync(twoDaemons('third-certs'))).rejects.toThrow(
      new Error(
        `${root}/apps/third-certs.yaml is missing and 1 other daemon ` +
          `Secret files could be it: rename the one for Secret third-certs to ${root}/apps/third-certs.yaml, then run \`npm run certs -- sync\``,
      ),
    );
  });

  test("export: one runnable line per endpoint and platform, quoted paths, and setup-buildx-action's step with each node's bundle", async () => {
    const settings = { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.114' }] };
    await certs.init(context(settings));
    await certs.issueClient(context(settings), 'laptop');
    const out = join(work, 'my bundle');
    const { commands } = await certs.exportClient(context(settings), 'laptop', out);
    const tls = `'cacert=${out}/ca.pem,cert=${out}/cert.pem,key=${out}/key.pem'`;
    expect(commands).toEqual([
      `docker buildx create --name buildkit-builder --node buildkitd --driver remote --platform linux/amd64 --driver-opt ${tls} tcp://192.168.80.110:1234`,
      `docker buildx create --append --name buildkit-builder --node buildkitd-arm64 --driver remote --platform linux/arm64 --driver-opt ${tls} tcp://192.168.80.114:1234`,
      `buildctl --addr tcp://192.168.80.110:1234 --tlsdir '${out}' build --frontend dockerfile.v0 --local context=. --local dockerfile=.`,
      `buildctl --addr tcp://192.168.80.114:1234 --tlsdir '${out}' build --frontend dockerfile.v0 --local context=. --local dockerfile=.`,
      ...commands.slice(4),
    ]);
    // The step, pasted without its comment marks, as docker/setup-buildx-action reads it: node 0 is `endpoint`,
    // node N the Nth of `append`, and each node takes its bundle from BUILDER_NODE_<N>_AUTH_TLS_*.
    expect(commands[4]).toBe(
      '# GitHub or Gitea Actions, with the CI secrets ca.pem as BUILDKIT_CA, cert.pem as BUILDKIT_CERT, key.pem as BUILDKIT_KEY:',
    );
    expect(commands.slice(5).every((l) => l.startsWith('#   '))).toBe(true);
    const [step] = load(
      commands
        .slice(5)
        .map((l) => l.slice(4))
        .join('\n'),
    ) as any[];
    expect([step.uses, step.with.driver]).toEqual(['docker/setup-buildx-action@v3', 'remote']);
    const nodes = [{ endpoint: step.with.endpoint, platforms: step.with.platforms }, ...(load(step.with.append) as any[])];
    expect(nodes).toEqual([
      { endpoint: 'tcp://192.168.80.110:1234', platforms: 'linux/amd64' },
      { name: 'buildkitd-arm64', endpoint: 'tcp://192.168.80.114:1234', platforms: 'linux/arm64' },
    ]);
    const bundleOf = (n: number) => ['CACERT', 'CERT', 'KEY'].map((v) => step.env[`BUILDER_NODE_${n}_AUTH_TLS_${v}`]);
    for (const n of nodes.keys())
      expect(bundleOf(n)).toEqual(['BUILDKIT_CA', 'BUILDKIT_CERT', 'BUILDKIT_KEY'].map((secret) => `\${{ secrets.${secret} }}`));
    expect(Object.keys(step.env)).toHaveLength(3 * nodes.length);
    // Pasted into a shell, each line passes its arguments whole (docker and buildctl stand-ins print them).
    const args = (line: string) =>
      execFileSync('sh', ['-c', `docker() { printf '%s\\n' "$@"; }; buildctl() { printf '%s\\n' "$@"; }; ${line}`], {
        encoding: 'utf8',
      }).split('\n');
    expect(args(commands[1])).toContain(`cacert=${out}/ca.pem,cert=${out}/cert.pem,key=${out}/key.pem`);
    expect(args(commands[2])).toEqual([
      '--addr',
      'tcp://192.168.80.110:1234',
      '--tlsdir',
      out,
      'build',
      '--frontend',
      'dockerfile.v0',
      '--local',
      'context=.',
      '--local',
      'dockerfile=.',
      '',
    ]);
    // A quote in the path survives the shell too.
    const quoted = join(work, "it's");
    const again = await certs.exportClient(context(settings), 'laptop', quoted);
    expect(args(again.commands[2]).slice(0, 4)).toEqual(['--addr', 'tcp://192.168.80.110:1234', '--tlsdir', quoted]);
  });
});

describe('a CA rotation that cannot strand a client', () => {
  beforeEach(async () => {
    await certs.init(context());
    await certs.issueClient(context(), 'laptop');
    await certs.issueClient(context(), 'runner');
  });

  test('check shows the phase, and per client which CA generation it chains to', async () => {
    await certs.rotate(context(), { ca: true });
    expect((await certs.check(context())).notes[1]).toBe(
      'still on the retiring CA: laptop, runner: `npm run certs -- issue-client NAME --renew` each, then `npm run certs -- rotate --finish-ca`',
    );
    await certs.issueClient(context(), 'laptop', { renew: true });
    const result = await certs.check(context());
    expect(result.reports.map((r) => r.label)).toEqual([
      'CA 2',
      'server (buildkit-daemon-certs)',
      'client in-cluster, chains to CA 2 (current)',
      'client laptop, chains to CA 2 (current)',
      'client runner, chains to CA 1 (retiring)',
    ]);
    expect(result.notes).toEqual([
      'CA rotation under way (phase 1): the daemons trust CA 1 (retiring) and CA 2 (current)',
      'still on the retiring CA: runner: `npm run certs -- issue-client NAME --renew` each, then `npm run certs -- rotate --finish-ca`',
    ]);
    expect(result.reports[0].subject).toBe('CN=buildkit-service CA 2, O=buildkit-service');
  });

  test('mid-rotation, check names a daemon that dropped the retiring CA and a bundle that trusts a stranger', async () => {
    await certs.rotate(context(), { ca: true });
    const { 'ca.pem': current, 'previous-ca.pem': retiring } = await bundle(paths(root).ca);
    expect((await certs.check(context())).ok).toBe(true);
    const stranger = createCa({ commonName: 'someone else CA', validityDays: 365, now: new Date(), keyPair: newKeyPair() }).certPem;
    await editSecret(daemonFile(), { 'ca.pem': current });
    await editSecret(paths(root).client('laptop'), { 'ca.pem': retiring + current + stranger });
    const result = await certs.check(context());
    const problems = (label: string) => result.reports.find((r) => r.label.startsWith(label))!.problems;
    expect(problems('server')).toContain(
      'mid-rotation the daemon must trust the retiring and the current CA: restore secrets/ from git, then `npm run certs -- rotate --ca`',
    );
    expect(problems('server')).not.toContain('the daemon does not trust the current CA: run rotate');
    expect(problems('client laptop')).toContain('its ca.pem trusts 1 certificate(s) that are no CA of this repository: re-issue it');
    // runner still holds a certificate from the retiring CA, which the daemon no longer trusts: it is stranded.
    expect(problems('client runner')).toEqual(['does not chain to the CA']);
  });

  test('after --finish-ca every bundle in secrets/ trusts the current CA alone, and says who to hand out again', async () => {
    await certs.rotate(context(), { ca: true });
    await certs.issueClient(context(), 'laptop', { renew: true });
    await certs.issueClient(context(), 'runner', { renew: true });
    expect((await certs.check(context())).notes).toEqual([
      'CA rotation under way (phase 1): the daemons trust CA 1 (retiring) and CA 2 (current)',
      'every client is on the current CA: `npm run certs -- rotate --finish-ca` ends the rotation',
    ]);
    lines = [];
    await certs.rotate(context(), { finishCa: true });
    const current = (await bundle(paths(root).ca))['ca.pem'];
    for (const path of [daemonFile(), paths(root).client('in-cluster'), paths(root).client('laptop'), paths(root).client('runner')]) {
      expect({ path, anchors: pems((await bundle(path))['ca.pem']), current: (await bundle(path))['ca.pem'] === current }).toEqual({
        path,
        anchors: 1,
        current: true,
      });
    }
    expect(lines.filter((l) => !l.startsWith('wrote '))).toEqual([
      'their ca.pem now trusts only the new CA: export and hand out again `npm run certs -- export laptop --out DIR`, `npm run certs -- export runner --out DIR`',
    ]);
    expect((await certs.check(context())).ok).toBe(true);
  });

  test('--finish-ca without the in-cluster bundle (deleted mid-rotation) finishes for the clients there are', async () => {
    await certs.rotate(context(), { ca: true });
    await certs.issueClient(context(), 'laptop', { renew: true });
    await certs.issueClient(context(), 'runner', { renew: true });
    rmSync(paths(root).client('in-cluster'));
    await certs.rotate(context(), { finishCa: true });
    expect(existsSync(paths(root).client('in-cluster'))).toBe(false);
    expect(await connects(await bundle(paths(root).client('laptop')))).toBe(true);
  });

  test('--finish-ca --force cuts off every stranded client, names them, and leaves their files as they were', async () => {
    await certs.rotate(context(), { ca: true });
    const stranded = () => ['laptop', 'runner'].map((n) => readFileSync(paths(root).client(n), 'utf8'));
    const before = stranded();
    await expect(certs.rotate(context(), { finishCa: true })).rejects.toThrow(
      /^rotate --finish-ca would strand laptop, runner, which still chain to the retiring CA 1: /,
    );
    lines = [];
    await certs.rotate(context(), { finishCa: true, force: true });
    // Nothing to hand out: the in-cluster client moved at rotate --ca, the others are cut off.
    expect(lines.filter((l) => !l.startsWith('wrote '))).toEqual(['cut off (forced): laptop, runner']);
    expect(stranded()).toEqual(before);
    expect(await connects(await bundle(paths(root).client('in-cluster')))).toBe(true);
  });

  test('revoke: every other client moves to a new CA; after --finish-ca the revoked one fails the handshake, the others pass', async () => {
    const revoked = await bundle(paths(root).client('laptop'));
    // A note beside the bundles is no client.
    writeFileSync(join(root, 'clients', 'README.md'), 'who holds which bundle\n');
    expect(await certs.revoke(context(), 'laptop')).toEqual(['runner']);
    expect(existsSync(paths(root).client('laptop'))).toBe(false);
    expect(lines).toContain(
      'hand out again: `npm run certs -- export runner --out DIR`; then `npm run certs -- rotate --finish-ca`, after which laptop is refused',
    );
    // Phase 1: nobody is cut off yet.
    expect(await connects(revoked)).toBe(true);
    await certs.rotate(context(), { finishCa: true });
    expect(await connects(revoked)).toBe(false);
    expect(await connects(await bundle(paths(root).client('runner')))).toBe(true);
    expect(await connects(await bundle(paths(root).client('in-cluster')))).toBe(true);
    await expect(certs.revoke(context(), 'laptop')).rejects.toThrow(/^no client laptop/);
  });

  test('plain rotate is refused mid-rotation; rotate says when it replaces a broken server certificate', async () => {
    await certs.rotate(context(), { ca: true });
    await expect(certs.rotate(context())).rejects.toThrow(
      /^a CA rotation is under way: a server certificate from the new CA would fail clients not yet renewed/,
    );
    await certs.rotate(context(), { finishCa: true, force: true });
    // A server file whose key belongs to another certificate, as a bad hand edit would leave it.
    const foreign = createCa({ commonName: 'someone else CA', validityDays: 365, now: new Date(), keyPair: newKeyPair() });
    await editSecret(daemonFile(), {
      'cert.pem': issueServerCertificate(foreign, {
        commonName: 'buildkitd',
        dnsNames: ['buildkitd'],
        ips: [],
        validityDays: 365,
        now: new Date(),
        keyPair: newKeyPair(),
      }).certPem,
      'key.pem': (await bundle(paths(root).client('in-cluster')))['key.pem'],
    });
    lines = [];
    await certs.rotate(context());
    expect(lines[0]).toBe(
      'replacing the server certificate of buildkit-daemon-certs, which had problems: does not chain to the CA; its private key does not match the certificate',
    );
  });
});

describe('age keys', () => {
  test('a lost key is never replaced by a new one: init refuses, creates nothing, and says how to restore it', async () => {
    const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
    const teammate = await identityToRecipient(await generateX25519Identity());
    await certs.init(context(), { extraRecipients: [teammate] });
    const sopsConfig = readFileSync(paths(root).sopsConfig, 'utf8');
    rmSync(paths(root).ageKey);
    // The folder it names is the one it serves: secrets/, or a tenant's (test/tenants.test.ts).
    const folder = root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expect(certs.init(context())).rejects.toThrow(
      new RegExp(
        `age-key\\.txt is missing, and ${folder}/ is encrypted to age1\\w+, age1\\w+: a new key could not open it; restore that identity from your backup, or from the cluster: kubectl -n flux-system get secret sops-age -o `,
      ),
    );
    expect(existsSync(paths(root).ageKey)).toBe(false);
    expect(readFileSync(paths(root).sopsConfig, 'utf8')).toBe(sopsConfig);
    // A key that is not the one: refused before anything is written.
    writeFileSync(paths(root).ageKey, `${await generateX25519Identity()}\n`);
    await expect(certs.init(context())).rejects.toThrow(/buildkit-ca\.yaml: no age identity given decrypts this file/);
    expect(readFileSync(paths(root).sopsConfig, 'utf8')).toBe(sopsConfig);
  });

  test('recipients add and remove re-encrypt every file: the added key alone decrypts, the removed one no longer does', async () => {
    const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
    await certs.init(context());
    await certs.issueClient(context(), 'laptop');
    const original = identities()[0];
    const originalRecipient = await identityToRecipient(original);
    const teammate = await generateX25519Identity();
    lines.length = 0;
    await certs.changeRecipients(context(), 'add', await identityToRecipient(teammate));
    expect(lines.filter((l) => !l.startsWith('wrote '))).toEqual([]); // this machine's key stays in the set: no note
    await expect(certs.changeRecipients(context(), 'remove', 'age1nope')).rejects.toThrow(
      new Error('invalid age recipient "age1nope": use an age1... public key'),
    );
    const files = [paths(root).ca, daemonFile(), paths(root).client('in-cluster'), paths(root).client('laptop')];
    for (const file of files) {
      // sops-age: a decryptor independent of this project's SOPS code.
      expect(await decryptSops(readFileSync(file, 'utf8'), { secretKey: teammate, fileType: 'yaml' })).toHaveProperty('stringData');
    }
    writeFileSync(paths(root).ageKey, `${teammate}\n`);
    await certs.changeRecipients(context(), 'remove', originalRecipient);
    expect(readFileSync(paths(root).sopsConfig, 'utf8')).not.toContain(originalRecipient);
    for (const file of files) {
      await expect(decryptDocument(readFileSync(file, 'utf8'), [original])).rejects.toThrow(/no age identity given decrypts this file/);
      expect(await decryptSops(readFileSync(file, 'utf8'), { secretKey: teammate, fileType: 'yaml' })).toHaveProperty('stringData');
    }
    await expect(certs.changeRecipients(context(), 'remove', await identityToRecipient(teammate))).rejects.toThrow(
      /^that is the last recipient/,
    );
    // Nothing to do either way: said, and no file is rewritten.
    const before = files.map((f) => readFileSync(f, 'utf8'));
    lines.length = 0;
    await certs.changeRecipients(context(), 'add', await identityToRecipient(teammate));
    await certs.changeRecipients(context(), 'remove', originalRecipient);
    expect(lines).toEqual([
      `.sops.yaml already names ${await identityToRecipient(teammate)}: nothing to do`,
      `.sops.yaml already does not name ${originalRecipient}: nothing to do`,
    ]);
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
  });

  test('recipients add, sync and check serve the bundles there are: a repository that deleted the in-cluster client keeps it deleted', async () => {
    const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
    await certs.init(context());
    rmSync(paths(root).client('in-cluster'));
    const teammate = await generateX25519Identity();
    await certs.changeRecipients(context(), 'add', await identityToRecipient(teammate));
    await certs.sync(context());
    expect((await certs.check(context())).ok).toBe(true);
    expect(existsSync(paths(root).client('in-cluster'))).toBe(false);
    for (const file of [paths(root).ca, daemonFile()]) {
      expect(await decryptSops(readFileSync(file, 'utf8'), { secretKey: teammate, fileType: 'yaml' })).toHaveProperty('stringData');
    }
  });

  test('sync and revoke name a client file hand-edited without its namespace, and write nothing', async () => {
    await certs.init(context());
    await certs.issueClient(context(), 'laptop');
    await certs.issueClient(context(), 'phone');
    await editSops(root, paths(root).client('laptop'), (doc) => {
      delete doc.metadata.namespace;
    });
    const before = readTree(root);
    const line = 'secrets/clients/laptop.yaml has no metadata.name or metadata.namespace: restore it from git';
    await expect(certs.sync(context())).rejects.toThrow(line);
    // revoke moves every other client (laptop among them) to a new CA.
    await expect(certs.revoke(context(), 'phone')).rejects.toThrow(line);
    expect(readTree(root)).toEqual(before);
  });

  test('removing the key this machine holds, with another left, says this machine can no longer decrypt', async () => {
    const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
    await certs.init(context());
    const teammate = await identityToRecipient(await generateX25519Identity());
    await certs.changeRecipients(context(), 'add', teammate);
    lines.length = 0;
    await certs.changeRecipients(context(), 'remove', await identityToRecipient(identities()[0]));
    expect(lines).toContain(`note: ${paths(root).ageKey} cannot decrypt secrets/ after this; keep a key of the new set`);
  });
});

test('export with per-replica addresses: a builder of its own for each, to pin a repository to one cache', async () => {
  const settings = { workload: 'statefulset' as const, replicas: 2, perReplicaIPs: ['192.168.80.111', '192.168.80.112'] };
  await certs.init(context(settings));
  await certs.issueClient(context(settings), 'ci');
  const out = join(work, 'b');
  const { commands } = await certs.exportClient(context(settings), 'ci', out);
  const tls = `cacert=${out}/ca.pem,cert=${out}/cert.pem,key=${out}/key.pem`;
  expect(commands.filter((c) => c.startsWith('docker'))).toEqual([
    `docker buildx create --name buildkit-builder --node buildkitd --driver remote --driver-opt ${tls} tcp://192.168.80.110:1234`,
    `docker buildx create --name buildkit-buildkitd-0 --node buildkitd-0 --driver remote --driver-opt ${tls} tcp://192.168.80.111:1234`,
    `docker buildx create --name buildkit-buildkitd-1 --node buildkitd-1 --driver remote --driver-opt ${tls} tcp://192.168.80.112:1234`,
  ]);
  const chosen = `endpoint=$(${out}/buildkit-endpoint "$GITHUB_REPOSITORY") && `;
  expect(commands.filter((c) => c.startsWith('endpoint='))).toEqual([
    `${chosen}docker buildx create --name buildkit-repo --driver remote --driver-opt ${tls} "tcp://$endpoint"`,
    `${chosen}buildctl --addr "tcp://$endpoint" --tlsdir ${out} build --frontend dockerfile.v0 --local context=. --local dockerfile=.`,
  ]);
  expect(commands.filter((c) => c.startsWith('buildctl')).map((c) => c.split(' ')[2])).toEqual([
    'tcp://192.168.80.110:1234',
    'tcp://192.168.80.111:1234',
    'tcp://192.168.80.112:1234',
  ]);
  // A chooser that fails (here: no key) stops the line before docker or buildctl runs.
  for (const line of commands.filter((c) => c.startsWith('endpoint='))) {
    const run = spawnSync('sh', ['-c', `docker() { echo ran; }; buildctl() { echo ran; }; ${line}`], {
      env: { PATH: process.env.PATH, GITHUB_REPOSITORY: '' },
      encoding: 'utf8',
    });
    expect({ status: run.status, out: run.stdout, err: run.stderr }).toEqual({
      status: 2,
      out: '',
      err: 'buildkit-endpoint: the key is empty: give the repository, such as org/app\n',
    });
  }
  // The chooser in the bundle, filled with the per-replica endpoints (its behaviour: test/endpoint-chooser.test.ts).
  const chooser = join(out, 'buildkit-endpoint');
  expect(statSync(chooser).mode & 0o777).toBe(0o755);
  expect(readFileSync(chooser, 'utf8')).toContain('\nENDPOINTS="192.168.80.111:1234 192.168.80.112:1234"\n');

  // One replica: its own builder, and nothing to choose between.
  const one = { ...settings, replicas: 1, perReplicaIPs: ['192.168.80.111'] };
  const single = await certs.exportClient(context(one), 'ci', join(work, 'one'));
  expect(single.commands.filter((c) => c.startsWith('docker')).map((c) => c.split(' ')[4])).toEqual([
    'buildkit-builder',
    'buildkit-buildkitd-0',
  ]);
  expect(existsSync(join(work, 'one', 'buildkit-endpoint'))).toBe(false);
});

describe('a retired CA is trusted nowhere, and check says what a certificate is for', () => {
  test('a server certificate signed with the retired CA key is refused by a bundle exported after --finish-ca', async () => {
    await certs.init(context());
    await certs.issueClient(context(), 'ci');
    const retired = await bundle(paths(root).ca);
    await certs.rotate(context(), { ca: true });
    await certs.issueClient(context(), 'ci', { renew: true });
    await certs.rotate(context(), { finishCa: true });
    await certs.exportClient(context(), 'ci', join(work, 'ci'));
    const exported = Object.fromEntries(['ca.pem', 'cert.pem', 'key.pem'].map((f) => [f, readFileSync(join(work, 'ci', f), 'utf8')]));
    expect(pems(exported['ca.pem'])).toBe(1);
    // Whoever kept the old CA key (it is in git history) poses as the daemon.
    const impostor = issueServerCertificate(
      { certPem: retired['ca.pem'], keyPem: retired['ca.key'] },
      {
        commonName: 'buildkitd',
        dnsNames: ['buildkitd.buildkit.svc.cluster.local'],
        ips: ['127.0.0.1'],
        validityDays: 30,
        now: new Date(),
        keyPair: newKeyPair(),
      },
    );
    const daemon = await bundle(daemonFile());
    const tryServer = (cert: { certPem: string; keyPem: string }) =>
      handshake({
        server: { key: cert.keyPem, cert: cert.certPem, ca: daemon['ca.pem'] },
        client: { key: exported['key.pem'], cert: exported['cert.pem'], ca: exported['ca.pem'] },
        servername: 'buildkitd.buildkit.svc.cluster.local',
      });
    expect(await tryServer(impostor)).toMatchObject({ ok: false });
    expect(await tryServer({ certPem: daemon['cert.pem'], keyPem: daemon['key.pem'] })).toMatchObject({ ok: true });
    expect((await certs.check(context())).ok).toBe(true);
  });

  test('check fails on a bundle that still trusts the retired CA, naming it', async () => {
    await certs.init(context());
    await certs.issueClient(context(), 'ci');
    const retired = (await bundle(paths(root).ca))['ca.pem'];
    await certs.rotate(context(), { ca: true });
    await certs.issueClient(context(), 'ci', { renew: true });
    await certs.rotate(context(), { finishCa: true });
    const current = (await bundle(paths(root).ca))['ca.pem'];
    await editSecret(paths(root).client('ci'), { 'ca.pem': current + retired });
    const result = await certs.check(context());
    expect(result.ok).toBe(false);
    expect(result.reports.find((r) => r.label.startsWith('client ci'))!.problems).toEqual([
      'its ca.pem trusts 1 certificate(s) besides the current CA (a retired or a foreign CA); it must trust the current CA alone: re-issue it',
      `${paths(root).publicOf(paths(root).client('ci'))}/ca.pem does not match the encrypted copy: run \`npm run certs -- sync\``,
      // The hand edit left the fingerprints the file records behind too.
      `${paths(root).client('ci')}: its buildkit-service/cert-sha256 annotation does not match its certificates: run \`npm run certs -- sync\``,
    ]);
  });

  test('check fails on a leaf used for the wrong purpose, and on a CA that is no CA', async () => {
    await certs.init(context());
    const client = await bundle(paths(root).client('in-cluster'));
    await editSecret(daemonFile(), { 'cert.pem': client['cert.pem'], 'key.pem': client['key.pem'] });
    let result = await certs.check(context());
    expect(result.reports[1].problems).toContain(
      'its extended key usage is 1.3.6.1.5.5.7.3.2; a server certificate must have serverAuth (1.3.6.1.5.5.7.3.1) alone',
    );
    await editSecret(paths(root).ca, { 'ca.pem': client['cert.pem'], 'ca.key': client['key.pem'] });
    result = await certs.check(context());
    expect(result.reports[0].problems).toEqual(
      expect.arrayContaining([
        'is not a CA (basicConstraints CA:false), yet it is used as one',
        'its key usage does not allow signing certificates (keyCertSign)',
      ]),
    );
  });
});

test('export refuses a folder inside the work tree that git would commit, and takes a git-ignored one', async () => {
  execFileSync('git', ['init', '-q'], { cwd: work });
  writeFileSync(join(work, '.gitignore'), readFileSync(join(ROOT, '.gitignore')));
  await certs.init(context());
  await certs.issueClient(context(), 'ci');
  await expect(certs.exportClient(context(), 'ci', join(work, 'ci-bundle'))).rejects.toThrow(
    /^--out .*ci-bundle is inside the git work tree .* and git does not ignore it: `git add -A` would commit the private key; use a folder outside the repository, or one under client-bundles\/ \(git-ignored\)$/,
  );
  expect(existsSync(join(work, 'ci-bundle'))).toBe(false);
  await certs.exportClient(context(), 'ci', join(work, 'client-bundles', 'ci'));
  expect(execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: work, encoding: 'utf8' })).not.toMatch(/key\.pem/);
  // What counts is whether git ignores the key file, whatever rule does it.
  writeFileSync(join(work, '.gitignore'), '*.pem\n');
  await certs.exportClient(context(), 'ci', join(work, 'ci-bundle'));
  expect(execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: work, encoding: 'utf8' })).not.toMatch(/\.pem/);
});

test("check names a daemon that does not trust the current CA, a key that is not its certificate's, and a client on a foreign CA", async () => {
  await certs.init(context());
  const foreign = createCa({ commonName: 'someone else CA', validityDays: 365, now: new Date(), keyPair: newKeyPair() });
  const stranger = issueClientCertificate(foreign, { commonName: 'in-cluster', validityDays: 365, now: new Date(), keyPair: newKeyPair() });
  const client = await bundle(paths(root).client('in-cluster'));
  await editSecret(daemonFile(), { 'ca.pem': foreign.certPem, 'key.pem': client['key.pem'] });
  await editSecret(paths(root).client('in-cluster'), {
    'ca.pem': foreign.certPem,
    'cert.pem': stranger.certPem,
    'key.pem': stranger.keyPem,
  });
  const result = await certs.check(context());
  expect(result.ok).toBe(false);
  const [, server, inCluster] = result.reports;
  const stale = (path: string, file = 'ca.pem') =>
    `${paths(root).publicOf(path)}/${file} does not match the encrypted copy: run \`npm run certs -- sync\``;
  const foreignAnchor =
    'its ca.pem trusts 1 certificate(s) besides the current CA (a retired or a foreign CA); it must trust the current CA alone: re-issue it';
  const unfingerprinted = (path: string) =>
    `${path}: its buildkit-service/cert-sha256 annotation does not match its certificates: run \`npm run certs -- sync\``;
  expect(server.problems).toEqual([
    'its private key does not match the certificate',
    'the daemon does not trust the current CA: run rotate',
    foreignAnchor,
    stale(daemonFile()),
    unfingerprinted(daemonFile()),
  ]);
  expect(inCluster.label).toBe('client in-cluster');
  expect(inCluster.problems).toEqual([
    foreignAnchor,
    stale(paths(root).client('in-cluster')),
    stale(paths(root).client('in-cluster'), 'cert.pem'),
    unfingerprinted(paths(root).client('in-cluster')),
    'chains to no CA of this repository: re-issue it with `npm run certs -- issue-client in-cluster --renew`',
  ]);
});

test("check names a CA key and a client key that are not their certificates', and a client ca.pem that holds no certificate", async () => {
  await certs.init(context());
  await certs.issueClient(context(), 'laptop');
  const laptop = await bundle(paths(root).client('laptop'));
  await editSecret(paths(root).ca, { 'ca.key': laptop['key.pem'] });
  await editSecret(paths(root).client('in-cluster'), { 'key.pem': laptop['key.pem'] });
  await editSecret(paths(root).client('laptop'), { 'ca.pem': '' });
  const result = await certs.check(context());
  const problems = (label: string) => result.reports.find((r) => r.label.startsWith(label))!.problems;
  expect(problems('CA 1')).toEqual(['its private key does not match the certificate']);
  expect(problems('client in-cluster')).toEqual(['its private key does not match the certificate']);
  expect(problems('client laptop')).toContain(
    'its ca.pem trusts 0 certificate(s) besides the current CA (a retired or a foreign CA); it must trust the current CA alone: re-issue it',
  );
});

test('check: a client certificate that names this CA as its issuer, signed by another key, chains to no CA', async () => {
  await certs.init(context());
  const keys = newKeyPair();
  const forged = forge.pki.createCertificate();
  forged.publicKey = keys.publicKey;
  forged.serialNumber = '01';
  forged.validity.notBefore = new Date(Date.now() - 60_000);
  forged.validity.notAfter = new Date(Date.now() + 86_400_000);
  forged.setSubject([{ name: 'commonName', value: 'buildkit-client-in-cluster' }]);
  // The CA's name and no authority key identifier: only the signature gives it away.
  forged.setIssuer(forge.pki.certificateFromPem((await bundle(paths(root).ca))['ca.pem']).subject.attributes);
  forged.sign(keys.privateKey, forge.md.sha256.create());
  await editSecret(paths(root).client('in-cluster'), {
    'cert.pem': forge.pki.certificateToPem(forged),
    'key.pem': forge.pki.privateKeyToPem(keys.privateKey),
  });
  const report = (await certs.check(context())).reports.find((r) => r.label.startsWith('client in-cluster'))!;
  expect(report.label).toBe('client in-cluster');
  expect(report.problems).toContain(
    'chains to no CA of this repository: re-issue it with `npm run certs -- issue-client in-cluster --renew`',
  );
});

describe('certs check without the key, as CI runs it', () => {
  const publicFiles = () =>
    readdirSync(join(root, 'public'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.pem'))
      .sort();

  /** Moves the age key away, as on a CI runner, and runs the keyless check. */
  const keylessCheck = async () => {
    renameSync(paths(root).ageKey, join(work, 'age-key.txt'));
    try {
      return await certs.check(context());
    } finally {
      renameSync(join(work, 'age-key.txt'), paths(root).ageKey);
    }
  };
  const server = () => paths(root).server('buildkit-daemon-certs');
  const publicCert = () => join(paths(root).publicOf(server()), 'cert.pem');

  test('a public copy from before a rotation fails the keyless check, naming it and the fix', async () => {
    await certs.init(context());
    const old = readFileSync(publicCert(), 'utf8');
    await certs.rotate(context(), { serverDays: 1 });
    expect((await keylessCheck()).reports[1].problems).toEqual([expect.stringMatching(/^expires in 0 days .*under the 30-day threshold/)]);
    writeFileSync(publicCert(), old); // copied back by hand, or by a merge that took public/ from the other side
    const result = await keylessCheck();
    expect(result.ok).toBe(false);
    expect(result.reports[1].problems).toEqual([
      `${publicCert()} does not match the fingerprint ${server()} records: run \`npm run certs -- sync\` where the key is`,
    ]);
    await certs.sync(context());
    expect((await keylessCheck()).reports[1].problems).toEqual([expect.stringMatching(/^expires in 0 days/)]);
  });

  test('a merge that takes apps/ from one side and public/ from the other fails it too', async () => {
    await certs.init(context());
    const before = { apps: readFileSync(server(), 'utf8'), copy: readFileSync(publicCert(), 'utf8') };
    await certs.rotate(context());
    writeFileSync(server(), before.apps); // apps/ from the side before the rotation, public/ from after it
    const result = await keylessCheck();
    expect(result.reports[1].problems).toEqual([
      `${publicCert()} does not match the fingerprint ${server()} records: run \`npm run certs -- sync\` where the key is`,
    ]);
    expect(before.copy).not.toBe(readFileSync(publicCert(), 'utf8'));
  });

  test('a file from before fingerprints were recorded is named, and sync records them', async () => {
    await certs.init(context());
    await editSops(root, server(), (doc) => {
      delete doc.metadata.annotations['buildkit-service/cert-sha256'];
    });
    const result = await keylessCheck();
    expect(result.reports[1].problems).toEqual([
      `${server()} records no certificate fingerprints to check its public copies by: run \`npm run certs -- sync\` where the key is`,
    ]);
    await certs.sync(context());
    expect((await keylessCheck()).ok).toBe(true);
    expect((await certs.check(context())).ok).toBe(true);
  });

  test('public copies hold every certificate and no key, outside what Flux applies, and follow every change', async () => {
    await certs.init(context());
    await certs.issueClient(context(), 'laptop');
    expect(publicFiles()).toEqual(
      [
        'apps/buildkit-client-certs/ca.pem',
        'apps/buildkit-client-certs/cert.pem',
        'apps/buildkit-daemon-certs/ca.pem',
        'apps/buildkit-daemon-certs/cert.pem',
        'ca/buildkit-ca/ca.pem',
        'clients/laptop/ca.pem',
        'clients/laptop/cert.pem',
      ].map((f) => f.replace(/\//g, require('node:path').sep)),
    );
    for (const f of publicFiles()) expect(readFileSync(join(root, 'public', f), 'utf8')).not.toMatch(/PRIVATE KEY/);
    expect(readFileSync(join(root, 'public/apps/buildkit-daemon-certs/cert.pem'), 'utf8')).toBe((await bundle(daemonFile()))['cert.pem']);
    await certs.rotate(context(), { ca: true });
    expect(existsSync(join(root, 'public/ca/buildkit-ca/previous-ca.pem'))).toBe(true);
    await certs.rotate(context(), { finishCa: true, force: true });
    expect(existsSync(join(root, 'public/ca/buildkit-ca/previous-ca.pem'))).toBe(false);
    await certs.revoke(context(), 'laptop');
    expect(existsSync(join(root, 'public/clients/laptop'))).toBe(false);
  });

  test('without the key: expiry, names against the settings, chains and the rotation phase, from the public copies', async () => {
    await certs.init(context());
    rmSync(paths(root).ageKey);
    const ok = await certs.check(context());
    expect(ok.ok).toBe(true);
    expect(ok.notes[0]).toMatch(
      /^no age key: checked the public copies in .*public; run with the key to check each key against its certificate$/,
    );
    const moved = await certs.check(context({ loadBalancerIP: '10.20.0.15' }));
    expect(moved.reports[1].problems).toEqual(['SANs miss IP 10.20.0.15']);
    const late = await certs.check(certsContext(root, {}, { now: new Date(Date.now() + 340 * 86_400_000) }), 30);
    expect(late.reports[1].problems[0]).toMatch(
      /^expires in \d+ days \(\d{4}-.*\), under the 30-day threshold: renew with `npm run certs -- rotate`$/,
    );
    expect(late.reports[2].problems[0]).toMatch(
      /^expires in \d+ days .*: renew with `npm run certs -- issue-client in-cluster --renew`, then export it$/,
    );
  });

  test('with the key, a public copy that differs from the encrypted one names the fix, and sync rewrites it', async () => {
    await certs.init(context());
    writeFileSync(join(root, 'public/apps/buildkit-daemon-certs/cert.pem'), (await bundle(paths(root).client('in-cluster')))['cert.pem']);
    const result = await certs.check(context());
    expect(result.reports[1].problems).toContain(
      `${join(root, 'public/apps/buildkit-daemon-certs')}/cert.pem does not match the encrypted copy: run \`npm run certs -- sync\``,
    );
    await certs.sync(context());
    expect((await certs.check(context())).ok).toBe(true);
    rmSync(join(root, 'public'), { recursive: true });
    await certs.sync(context());
    expect(publicFiles()).toHaveLength(5);
  });
});
