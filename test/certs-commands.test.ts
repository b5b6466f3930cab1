import { X509Certificate } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { loadAll } from 'js-yaml';
import { decryptSops } from 'sops-age';
import { BuildkitChart } from '../lib/buildkit-chart';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { revoke, rotate } from '../lib/certs/ca-rotation';
import { check } from '../lib/certs/check';
import { init, issueClient } from '../lib/certs/commands';
import { exportClient } from '../lib/certs/export';
import { type CertsContext, caGeneration } from '../lib/certs/issuing';
import { daemonCertsRevision, paths } from '../lib/certs/layout';
import { createCa } from '../lib/pki/issue';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument } from '../lib/sops/sops-file';
import { certsContext, ownRecipient } from './support/certs';
import { keyPool } from './support/keys';
import { bundlesConnect } from './support/tls';

const newKeyPair = keyPool();
let root: string;
let lines: string[];
const context = (settings: BuildkitChartProps = {}, now = new Date()): CertsContext =>
  certsContext(root, settings, { now, log: (l) => lines.push(l), newKeyPair });
const identities = () => parseIdentities(readFileSync(paths(root).ageKey, 'utf8'));
const secretData = async (path: string) => ((await decryptDocument(readFileSync(path, 'utf8'), identities())) as any).stringData;
const snapshot = () =>
  Object.fromEntries(
    ['.sops.yaml', 'apps/namespace.yaml', 'ca/buildkit-ca.yaml', 'apps/buildkit-daemon-certs.yaml', 'apps/buildkit-client-certs.yaml'].map(
      (f) => [f, existsSync(join(root, f)) ? readFileSync(join(root, f), 'utf8') : undefined],
    ),
  );

/** Does a client bundle get through the daemon's mutual TLS, as buildctl would? */
const connects = async (client: Record<string, string>, servername?: string) =>
  bundlesConnect(await secretData(paths(root).server('buildkit-daemon-certs')), client, servername);

beforeEach(() => {
  root = join(mkdtempSync(join(tmpdir(), 'buildkit-certs-')), 'secrets');
  lines = [];
});
afterEach(() => rmSync(join(root, '..'), { recursive: true, force: true }));

// One real init per file; tests that start from an initialized folder get their own copy of it.
let template: string | undefined;
async function initialized() {
  if (!template) {
    await init(context());
    template = mkdtempSync(join(tmpdir(), 'buildkit-template-'));
    cpSync(root, template, { recursive: true });
  } else {
    cpSync(template, root, { recursive: true });
  }
  lines = [];
}
afterAll(() => template && rmSync(template, { recursive: true, force: true }));

describe('certs init', () => {
  test('creates the age identity (0600), .sops.yaml and the three encrypted files', async () => {
    await init(context());
    expect(statSync(paths(root).ageKey).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths(root).ageKey, 'utf8')).toMatch(
      /^# created: .*\n# public key: age1[0-9a-z]{58}\nAGE-SECRET-KEY-[1][0-9A-Z]+\n$/,
    );
    const recipient = ownRecipient(root);
    expect(readFileSync(paths(root).sopsConfig, 'utf8')).toBe(
      `creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: ${recipient}\n`,
    );
    for (const f of [paths(root).ca, paths(root).server('buildkit-daemon-certs'), paths(root).client('in-cluster')]) {
      const text = readFileSync(f, 'utf8');
      expect(text).not.toMatch(/BEGIN (RSA )?PRIVATE KEY|BEGIN CERTIFICATE/);
      expect(text).toContain(`recipient: ${recipient}`);
    }
  });

  test('the daemon Secret is what the chart mounts, and an independent decryptor reads it', async () => {
    await init(context());
    const text = readFileSync(paths(root).server('buildkit-daemon-certs'), 'utf8');
    const doc = (await decryptSops(text, { secretKey: identities()[0], fileType: 'yaml' })) as any;
    // What Flux needs to apply it, and what ties it to this tool.
    expect(doc).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque' });
    expect(doc.metadata).toMatchObject({
      name: 'buildkit-daemon-certs',
      namespace: 'buildkit',
      labels: { 'app.kubernetes.io/managed-by': 'buildkit-service' },
    });
    expect(Object.keys(doc.stringData)).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
    const client = (await decryptSops(readFileSync(paths(root).client('in-cluster'), 'utf8'), {
      secretKey: identities()[0],
      fileType: 'yaml',
    })) as any;
    expect(client).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'buildkit-client-certs',
        labels: { 'app.kubernetes.io/managed-by': 'buildkit-service', 'buildkit-service/client': 'in-cluster' },
      },
    });
    expect(doc).toEqual(await decryptDocument(text, identities()));
  });

  test('the server certificate covers the settings; the in-cluster client connects with mutual TLS', async () => {
    await init(context({ loadBalancerIP: '10.1.2.3', namespace: 'ci', clientNamespace: 'runners' }));
    lines = [];
    expect((await check(context({ loadBalancerIP: '10.1.2.3', namespace: 'ci' }))).ok).toBe(true);
    const client = await secretData(paths(root).client('in-cluster'));
    expect(await connects(client, 'buildkitd.ci.svc.cluster.local')).toBe(true);
    const raw = readFileSync(paths(root).client('in-cluster'), 'utf8');
    expect(raw).toMatch(/name: buildkit-client-certs\n\s+namespace: runners/);
  });

  test("client Secrets default to the service's namespace", async () => {
    await init(context({ namespace: 'builds' }));
    expect(readFileSync(paths(root).client('in-cluster'), 'utf8')).toMatch(/name: buildkit-client-certs\n\s+namespace: builds\n/);
    expect(readFileSync(paths(root).server('buildkit-daemon-certs'), 'utf8')).toMatch(
      /name: buildkit-daemon-certs\n\s+namespace: builds\n/,
    );
  });

  test('apps/namespace.yaml seeds each namespace once, as separate documents Flux creates but never prunes', async () => {
    await init(context({ clientNamespace: 'runners' }));
    const docs = loadAll(readFileSync(paths(root).namespace, 'utf8')) as any[];
    const annotations = { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' };
    expect(docs).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'buildkit', annotations, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'runners', annotations } },
    ]);
  });

  test('keeps the CA key out of the folder GitOps applies', async () => {
    await init(context());
    expect(paths(root).ca).not.toContain(`${join(root, 'apps')}`);
    expect(Object.keys(await secretData(paths(root).ca))).toEqual(['ca.pem', 'ca.key']);
  });

  test('adds more recipients, each of which can decrypt', async () => {
    const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
    const teammate = await generateX25519Identity();
    await init(context(), { extraRecipients: [await identityToRecipient(teammate)] });
    expect(await decryptDocument(readFileSync(paths(root).server('buildkit-daemon-certs'), 'utf8'), [teammate])).toBeDefined();
    // Once files exist, a new recipient must re-encrypt them: init points at the command that does.
    await expect(init(context(), { extraRecipients: [await identityToRecipient(await generateX25519Identity())] })).rejects.toThrow(
      /^secrets\/ exists: add recipients with `npm run certs -- recipients add age1\.\.\.`, which re-encrypts every file$/,
    );
    rmSync(root, { recursive: true });
    // A recipient is age1 and 58 bech32 characters, nothing before or after (a pasted line, a doubled key).
    const wellFormed = `age1${'q'.repeat(58)}`;
    for (const bad of ['age1nope', `x${wellFormed}`, `${wellFormed}q`]) {
      await expect(init(context(), { extraRecipients: [bad] })).rejects.toThrow(`invalid age recipient "${bad}"`);
    }
    expect(existsSync(root)).toBe(false);
  });

  test('running it again changes nothing: no file is rewritten', async () => {
    await init(context());
    const before = snapshot();
    const mtimes = Object.keys(before).map((f) => statSync(join(root, f)).mtimeMs);
    // The first run: identity, .sops.yaml, namespaces, three bundles and five public certificate copies.
    expect(lines.filter((l) => l.startsWith('wrote'))).toHaveLength(11);
    expect(lines.filter((l) => !l.startsWith('wrote'))).toEqual([
      '  keep it safe: it is git-ignored, and Flux needs a copy (README, "Flux and the age key"):',
      `  kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${paths(root).ageKey}`,
    ]);
    lines = [];
    await init(context());
    expect(snapshot()).toEqual(before);
    expect(Object.keys(before).map((f) => statSync(join(root, f)).mtimeMs)).toEqual(mtimes);
    expect(lines.filter((l) => !l.startsWith('wrote'))).toEqual([
      `kept ${paths(root).ageKey}`,
      `kept ${paths(root).ca}: certificates exist (rotate, sync or issue-client change them)`,
    ]);
  });
});

describe('certs issue-client and export', () => {
  beforeEach(initialized);

  test('a new client connects; the name must be new unless --renew', async () => {
    await issueClient(context(), 'gitea-runner');
    expect(await connects(await secretData(paths(root).client('gitea-runner')))).toBe(true);
    expect(new X509Certificate((await secretData(paths(root).client('gitea-runner')))['cert.pem']).subject.split('\n')).toContain(
      'CN=buildkit-client-gitea-runner',
    );
    expect(await decryptDocument(readFileSync(paths(root).client('gitea-runner'), 'utf8'), identities())).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'buildkit-client-gitea-runner',
        namespace: 'buildkit',
        labels: { 'app.kubernetes.io/managed-by': 'buildkit-service', 'buildkit-service/client': 'gitea-runner' },
      },
    });
    await expect(issueClient(context(), 'gitea-runner')).rejects.toThrow(/client gitea-runner exists .*pass --renew/);
    const first = readFileSync(paths(root).client('gitea-runner'), 'utf8');
    await issueClient(context(), 'gitea-runner', { renew: true });
    expect(readFileSync(paths(root).client('gitea-runner'), 'utf8')).not.toBe(first);
    await expect(issueClient(context(), 'Bad_Name')).rejects.toThrow(/invalid client name "Bad_Name"/);
    await expect(issueClient(context(), 'laptop', { namespace: 'Team_A' })).rejects.toThrow(
      new Error('invalid --namespace "Team_A": use a DNS label, lowercase letters, digits and "-"'),
    );
    expect(existsSync(paths(root).client('laptop'))).toBe(false);
  });

  test('export writes the bundle with mode 0600 and prints the buildx and buildctl commands with absolute paths', async () => {
    await issueClient(context(), 'laptop');
    const out = join(root, '..', 'bundle');
    const result = await exportClient(context(), 'laptop', out);
    const data = await secretData(paths(root).client('laptop'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
      expect(readFileSync(join(out, f), 'utf8')).toBe(data[f]);
      expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(out).mode & 0o777).toBe(0o700);
    // The marker that lets the next export replace these files and no others.
    expect(readFileSync(join(out, '.buildkit-service-export'), 'utf8')).toBe(
      'written by `npm run certs -- export`: ca.pem, cert.pem, key.pem, buildkit-endpoint\n',
    );
    expect(result.commands).toEqual([
      `docker buildx create --name buildkit-builder --node buildkitd --driver remote --driver-opt cacert=${out}/ca.pem,cert=${out}/cert.pem,key=${out}/key.pem tcp://192.168.80.110:1234`,
      `buildctl --addr tcp://192.168.80.110:1234 --tlsdir ${out} build --frontend dockerfile.v0 --local context=. --local dockerfile=.`,
      '# GitHub or Gitea Actions, with the CI secrets ca.pem as BUILDKIT_CA, cert.pem as BUILDKIT_CERT, key.pem as BUILDKIT_KEY:',
      '#   - uses: docker/setup-buildx-action@v3',
      '#     with:',
      '#       driver: remote',
      '#       endpoint: tcp://192.168.80.110:1234',
      '#     env:',
      `#       BUILDER_NODE_0_AUTH_TLS_CACERT: \${{ secrets.BUILDKIT_CA }}`,
      `#       BUILDER_NODE_0_AUTH_TLS_CERT: \${{ secrets.BUILDKIT_CERT }}`,
      `#       BUILDER_NODE_0_AUTH_TLS_KEY: \${{ secrets.BUILDKIT_KEY }}`,
    ]);
    await expect(exportClient(context(), 'nobody', out)).rejects.toThrow(
      /^no client nobody \(.*nobody\.yaml\): issue it first with `npm run certs -- issue-client nobody`$/,
    );
  });
  test("export refuses an --out with a comma, which would split buildx's --driver-opt, and writes nothing", async () => {
    await issueClient(context(), 'laptop');
    const out = join(root, '..', 'a,b');
    await expect(exportClient(context(), 'laptop', out)).rejects.toThrow(
      `--out ${out}: a comma would split buildx's --driver-opt (cacert=...,cert=...,key=...); use a folder whose path has no comma`,
    );
    expect(existsSync(out)).toBe(false);
  });

  test("export replaces only what an earlier export wrote: another tool's ca.pem and key.pem stay unless --force", async () => {
    await issueClient(context(), 'laptop');
    const docker = join(root, '..', 'dot-docker');
    mkdirSync(docker);
    writeFileSync(join(docker, 'key.pem'), 'Docker own key');
    writeFileSync(join(docker, 'ca.pem'), 'Docker own CA');
    await expect(exportClient(context(), 'laptop', docker)).rejects.toThrow(
      `--out ${docker} already holds ca.pem, key.pem, which export did not write: use an empty folder, or pass --force to replace them`,
    );
    expect([readFileSync(join(docker, 'key.pem'), 'utf8'), existsSync(join(docker, 'cert.pem'))]).toEqual(['Docker own key', false]);
    // An export's own folder is replaced on the next export, and --force replaces another tool's files.
    const out = join(root, '..', 'bundle');
    await exportClient(context(), 'laptop', out);
    await issueClient(context(), 'laptop', { renew: true });
    await exportClient(context(), 'laptop', out);
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toBe((await secretData(paths(root).client('laptop')))['cert.pem']);
    await exportClient(context(), 'laptop', docker, { force: true });
    expect(readFileSync(join(docker, 'key.pem'), 'utf8')).toBe((await secretData(paths(root).client('laptop')))['key.pem']);
  });
});

describe('certs rotate', () => {
  beforeEach(initialized);

  test('flags that do not go together are refused before anything is read', async () => {
    const before = snapshot();
    await expect(rotate(context(), { ca: true, finishCa: true })).rejects.toThrow(new Error('rotate takes --ca or --finish-ca, not both'));
    for (const options of [{ force: true }, { ca: true, force: true }]) {
      await expect(rotate(context(), options)).rejects.toThrow(new Error('--force goes with --finish-ca'));
    }
    expect(snapshot()).toEqual(before);
  });

  test('a plain rotate says nothing but what it wrote; one that finds an unreadable server file says it replaces it', async () => {
    await rotate(context());
    expect(lines.filter((l) => !l.startsWith('wrote '))).toEqual([]);
    writeFileSync(
      paths(root).server('buildkit-daemon-certs'),
      readFileSync(paths(root).server('buildkit-daemon-certs'), 'utf8').replace('namespace: buildkit', 'namespace: other'),
    );
    lines = [];
    await rotate(context());
    expect(lines.filter((l) => !l.startsWith('wrote '))).toEqual([
      'replacing the server certificate of buildkit-daemon-certs, which had problems: unreadable',
    ]);
    expect((await check(context())).ok).toBe(true);
  });

  test('rotate --ca names the next steps; revoke refuses the in-cluster client and a rotation under way', async () => {
    await issueClient(context(), 'laptop');
    await expect(revoke(context(), 'in-cluster')).rejects.toThrow(
      new Error(
        'the in-cluster client is renewed by every CA rotation: run `npm run certs -- rotate --ca`, then `npm run certs -- rotate --finish-ca`',
      ),
    );
    lines = [];
    await rotate(context(), { ca: true });
    expect(lines.filter((l) => !l.startsWith('wrote '))).toEqual([
      'next: re-issue every client (`npm run certs -- issue-client NAME --renew`), export and hand them out, then `npm run certs -- rotate --finish-ca`',
    ]);
    await expect(revoke(context(), 'laptop')).rejects.toThrow(
      new Error('a CA rotation is under way: finish it (`npm run certs -- rotate --finish-ca`), then revoke'),
    );
  });

  test('revoking the only other client: its file goes, and the one step left is named', async () => {
    await issueClient(context(), 'laptop');
    lines = [];
    expect(await revoke(context(), 'laptop')).toEqual([]);
    expect(lines.filter((l) => !l.startsWith('wrote '))).toEqual([
      `removed ${paths(root).client('laptop')}`,
      'next: `npm run certs -- rotate --finish-ca`, after which laptop is refused',
    ]);
    expect(existsSync(paths(root).publicOf(paths(root).client('laptop')))).toBe(false);
  });

  test('revoke re-issues every other client into the namespace it had, the in-cluster one into clientNamespace, and names each to hand out', async () => {
    const settings = { clientNamespace: 'runners' };
    await issueClient(context(settings), 'laptop');
    await issueClient(context(settings), 'runner', { namespace: 'tools' });
    await issueClient(context(settings), 'ci');
    // Bundles from before the public copies have none to remove.
    rmSync(paths(root).publicOf(paths(root).client('laptop')), { recursive: true });
    await revoke(context(settings), 'laptop');
    expect(lines).toContain(
      'hand out again: `npm run certs -- export ci --out DIR`, `npm run certs -- export runner --out DIR`; ' +
        'then `npm run certs -- rotate --finish-ca`, after which laptop is refused',
    );
    const namespaceOf = async (path: string) =>
      ((await decryptDocument(readFileSync(path, 'utf8'), identities())) as any).metadata.namespace;
    expect(await namespaceOf(paths(root).client('runner'))).toBe('tools');
    expect(await namespaceOf(paths(root).client('in-cluster'))).toBe('runners');
  });

  test('check names the sync when the server file the app names is missing', async () => {
    await expect(check(context({ certSecretName: 'team-certs' }))).rejects.toThrow(
      new Error(
        `${paths(root).server('team-certs')} is missing: ` +
          'run `npm run certs -- sync` if the app names another Secret than before, else `npm run certs -- init`',
      ),
    );
  });

  test('a new server certificate from the same CA; existing clients keep working', async () => {
    const before = await secretData(paths(root).server('buildkit-daemon-certs'));
    await rotate(context());
    const after = await secretData(paths(root).server('buildkit-daemon-certs'));
    expect(after['cert.pem']).not.toBe(before['cert.pem']);
    expect(after['ca.pem']).toBe(before['ca.pem']);
    expect(await connects(await secretData(paths(root).client('in-cluster')))).toBe(true);
  });

  test('a changed LoadBalancer IP: check fails on the SAN, rotate fixes it', async () => {
    const moved = { loadBalancerIP: '192.168.80.120' };
    const result = await check(context(moved));
    expect(result.ok).toBe(false);
    expect(result.reports.flatMap((r) => r.problems)).toEqual(['SANs miss IP 192.168.80.120']);
    await rotate(context(moved));
    expect((await check(context(moved))).ok).toBe(true);
  });

  test('a CA rotation keeps old clients working until the rotation is finished', async () => {
    await issueClient(context(), 'old');
    const old = await secretData(paths(root).client('old'));
    await rotate(context(), { ca: true });
    expect(await connects(old)).toBe(true);
    await issueClient(context(), 'new');
    expect(await connects(await secretData(paths(root).client('new')))).toBe(true);
    expect(await connects(await secretData(paths(root).client('in-cluster')))).toBe(true);
    await expect(rotate(context(), { ca: true })).rejects.toThrow(/rotation is under way/);

    // Finishing would strand "old": refused, naming it and the fix, and nothing changes.
    const before = readFileSync(paths(root).ca, 'utf8');
    await expect(rotate(context(), { finishCa: true })).rejects.toThrow(
      /^rotate --finish-ca would strand old, which still chain to the retiring CA 1: re-issue each with `npm run certs -- issue-client NAME --renew`/,
    );
    expect(readFileSync(paths(root).ca, 'utf8')).toBe(before);
    await rotate(context(), { finishCa: true, force: true });
    expect(lines).toContain('cut off (forced): old');
    expect(await connects(old)).toBe(false);
    expect(await connects(await secretData(paths(root).client('new')))).toBe(true);
    expect(await connects(await secretData(paths(root).client('in-cluster')))).toBe(true);
    const result = await check(context());
    expect(result.reports.find((r) => r.label.startsWith('client old'))!.problems).toContain('does not chain to the CA');
    await expect(rotate(context(), { finishCa: true })).rejects.toThrow(/no CA rotation is under way/);
  });

  test('the chart rolls the pods when the certificates change', async () => {
    const revision = daemonCertsRevision(root, 'buildkit-daemon-certs')!;
    expect(revision).toMatch(/^ENC\[AES256_GCM,/);
    await rotate(context());
    expect(daemonCertsRevision(root, 'buildkit-daemon-certs')).not.toBe(revision);
    const podAnnotations = (rev: string) => {
      const chart = new BuildkitChart(new App(), 'b', { certRevision: rev });
      return (chart.daemon.workload.toJson() as any).spec.template.metadata.annotations['checksum/tls'];
    };
    expect(podAnnotations(daemonCertsRevision(root, 'buildkit-daemon-certs')!)).not.toBe(podAnnotations(revision));
  });
});

test("a CA generation is read from its subject, past 9; an older repo's unnumbered CA counts as 1", () => {
  const ca = (commonName: string) => createCa({ commonName, validityDays: 1, now: new Date(), keyPair: newKeyPair() }).certPem;
  expect(caGeneration(ca('buildkit-service CA 12'))).toBe(12);
  expect(caGeneration(ca('buildkit-service CA'))).toBe(1);
});

describe('certs check and failures', () => {
  beforeEach(initialized);

  test('a healthy set reports subject, SANs, issuer and days left for each certificate', async () => {
    const result = await check(context());
    expect(result.ok).toBe(true);
    expect(result.reports.map((r) => r.label)).toEqual([
      'CA 1',
      'server (buildkit-daemon-certs)',
      'client in-cluster, chains to CA 1 (current)',
    ]);
    expect(result.notes).toEqual([]);
    expect(result.reports[1].sans).toContain('DNS:buildkitd.buildkit.svc.cluster.local');
  });

  test('an expired certificate, and one expiring within the threshold', async () => {
    const later = new Date(Date.now() + 400 * 86_400_000);
    const result = await check(context({}, later));
    expect(result.ok).toBe(false);
    expect(result.reports[1].problems[0]).toMatch(/^expired on /);
    const soon = await check(context(), 400);
    expect(soon.reports[1].problems[0]).toMatch(/under the 400-day threshold/);
  });

  test('a CA near its end names the CA rotation that renews it; a missing CA names init', async () => {
    const result = await check(context({}, new Date(Date.now() + 3640 * 86_400_000)));
    expect(result.reports[0].problems).toEqual([
      expect.stringMatching(
        /^expires in \d+ days \(.*\), under the 30-day threshold: renew with `npm run certs -- rotate --ca`, then renew every client and `npm run certs -- rotate --finish-ca`$/,
      ),
    ]);
    rmSync(paths(root).ca);
    await expect(check(context())).rejects.toThrow(new Error(`${paths(root).ca} is missing: run \`npm run certs -- init\``));
  });

  test('a missing key file names the file and the fix', async () => {
    rmSync(paths(root).ageKey);
    await expect(rotate(context())).rejects.toThrow(
      /age-key\.txt is missing: restore the age identity \.sops\.yaml names \(from your backup, or from the cluster: kubectl -n flux-system get secret sops-age/,
    );
  });

  test('the wrong key says which recipients the file is for', async () => {
    const { generateX25519Identity } = await import('age-encryption');
    writeFileSync(paths(root).ageKey, `${await generateX25519Identity()}\n`);
    await expect(check(context())).rejects.toThrow(/buildkit-ca\.yaml: no age identity given decrypts this file \(encrypted to age1/);
  });

  test('a tampered file is refused', async () => {
    const text = readFileSync(paths(root).server('buildkit-daemon-certs'), 'utf8');
    writeFileSync(paths(root).server('buildkit-daemon-certs'), text.replace('namespace: buildkit', 'namespace: kube-system'));
    await expect(check(context())).rejects.toThrow(/buildkit-daemon-certs\.yaml: MAC mismatch/);
  });

  test('an age key file without an identity, and a missing CA, each name the file and the fix', async () => {
    writeFileSync(paths(root).ageKey, '# created: 2026-01-01T00:00:00Z\n# public key: nothing here\n');
    await expect(check(context())).rejects.toThrow(new Error(`${paths(root).ageKey} holds no age identity`));
    rmSync(paths(root).ca);
    await expect(issueClient(context(), 'laptop')).rejects.toThrow(
      new Error(`${paths(root).ca} is missing: run \`npm run certs -- init\``),
    );
  });

  test('without the key and without the public copy of the CA, check says where the key must run sync', async () => {
    rmSync(paths(root).ageKey);
    rmSync(paths(root).publicOf(paths(root).ca), { recursive: true });
    await expect(check(context())).rejects.toThrow(
      new Error(
        `${join(paths(root).publicOf(paths(root).ca), 'ca.pem')} is missing, and without the age key ` +
          'nothing else shows the certificates: run `npm run certs -- sync` where the key is',
      ),
    );
  });

  test('.sops.yaml: recipients written by hand with spaces are read; no recipients, in any shape, and an empty file are refused by name', async () => {
    const own = ownRecipient(root);
    const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
    const teammate = await identityToRecipient(await generateX25519Identity());
    writeFileSync(paths(root).sopsConfig, `creation_rules:\n  - path_regex: \\.yaml$\n    age: ' ${own} , ${teammate}'\n`);
    await rotate(context());
    expect(readFileSync(paths(root).server('buildkit-daemon-certs'), 'utf8')).toContain(`recipient: ${teammate}`);
    for (const config of ['~\n', '{}\n', 'creation_rules: []\n', 'creation_rules:\n  - path_regex: x\n']) {
      writeFileSync(paths(root).sopsConfig, config);
      await expect(rotate(context())).rejects.toThrow(new Error(`${paths(root).sopsConfig} names no age recipients`));
    }
    writeFileSync(paths(root).sopsConfig, '');
    await expect(rotate(context())).rejects.toThrow(
      new Error(`${paths(root).sopsConfig}: not valid YAML: expected a document, but the input is empty`),
    );
  });

  test('a command that fails leaves every file as it was', async () => {
    const before = snapshot();
    writeFileSync(paths(root).sopsConfig, 'creation_rules:\n  - age: ""\n');
    await expect(rotate(context())).rejects.toThrow(/names no age recipients/);
    expect({ ...snapshot(), '.sops.yaml': before['.sops.yaml'] }).toEqual(before);
    expect(existsSync(`${paths(root).server('buildkit-daemon-certs')}.tmp-${process.pid}`)).toBe(false);
  });
});

describe('a write a killed command left behind is finished or named by the next command', () => {
  test('a journal: its staged files are renamed into place, its removals done, and the command says which', async () => {
    await init(context());
    const target = paths(root).namespace;
    writeFileSync(join(root, 'apps', '.namespace.yaml.0123.buildkit-tmp'), 'kind: Staged\n');
    writeFileSync(join(root, 'stale.yaml'), 'kind: Stale\n');
    writeFileSync(
      paths(root).journal,
      JSON.stringify({ renames: [['apps/.namespace.yaml.0123.buildkit-tmp', 'apps/namespace.yaml']], removals: ['stale.yaml'] }),
    );
    lines = [];
    await check(context());
    expect(readFileSync(target, 'utf8')).toBe('kind: Staged\n');
    expect(existsSync(join(root, 'stale.yaml'))).toBe(false);
    expect(existsSync(paths(root).journal)).toBe(false);
    expect(lines[0]).toBe(
      `completed a write a killed command left half done (the new set): ${root}/apps/namespace.yaml, ${root}/stale.yaml`,
    );
  });

  test('temporaries without a journal: the old set stands, and the command says so once', async () => {
    await init(context());
    const before = readFileSync(paths(root).namespace, 'utf8');
    writeFileSync(join(root, 'apps', '.namespace.yaml.4567.buildkit-tmp'), 'kind: Half\n');
    lines = [];
    await check(context());
    expect(readFileSync(paths(root).namespace, 'utf8')).toBe(before);
    expect(lines.filter((l) => l.includes('killed'))).toEqual([
      'a command was killed before its write began: secrets/ holds the old set (its temporaries go with the next write)',
    ]);
  });
});
