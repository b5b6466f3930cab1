import { X509Certificate } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { BuildkitChart } from '../lib/buildkit-chart';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { paths } from '../lib/certs/layout';
import { runCerts as runCertsWithNewKeys } from '../lib/cli/certs';
import { parseCertsArguments, USAGE } from '../lib/cli/certs-arguments';
import { certsResynth } from '../lib/repository';
import { serviceCharts } from '../lib/tenants';
import { editSops, runCertsWithPooledKeys } from './support/certs';
import { treeDigest } from './support/dist';
import { keyPool } from './support/keys';

const runCerts = runCertsWithPooledKeys();

const chart = (settings: BuildkitChartProps) => (app: any) => new BuildkitChart(app, 'buildkit', settings);
const seed = chart({});
const WELL_FORMED_RECIPIENT = `age1${'q'.repeat(58)}`;

describe('npm run certs', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-cli-'));
  const secrets = join(work, 'secrets');
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  let out: string[];
  let errors: string[];
  const io = () => {
    out = [];
    errors = [];
    return { log: (...l: string[]) => out.push(...l), error: (l: string) => errors.push(l) };
  };
  const run = (...args: string[]) => runCerts([...args, '--secrets', secrets], seed, io());

  beforeAll(() => runCerts(['init', '--secrets', secrets], seed, io()));

  test('--min-days takes whole days from 1: 1 and 10 pass on fresh certificates', async () => {
    expect(await run('check', '--min-days', '1')).toBe(0);
    expect(await run('check', '--min-days', '10')).toBe(0);
  });

  test('check exits 1 with one line per problem when the chart serves names the certificate lacks', async () => {
    const code = await runCerts(['check', '--secrets', secrets], chart({ loadBalancerIP: '10.9.9.9', namespace: 'other' }), io());
    expect(code).toBe(1);
    expect(out).toContainEqual(expect.stringMatching(/^FAIL server \(buildkit-daemon-certs\): CN=buildkitd, O=buildkit-service; issuer /));
    expect(out).toContain('server (buildkit-daemon-certs): SANs miss IP 10.9.9.9');
    expect(out).toContain('server (buildkit-daemon-certs): SANs miss buildkitd.other.svc.cluster.local');
  });

  test('every key comes from the newKeyPair it is given: the CA, the daemon and the in-cluster client', async () => {
    const root = join(work, 'given-keys');
    const pool = keyPool();
    const given: string[] = [];
    const newKeyPair = () => {
      const keys = pool();
      given.push(forge.pki.publicKeyToPem(keys.publicKey).replace(/\r\n/g, '\n')); // forge ends PEM lines in CRLF, Node in LF
      return keys;
    };
    const quiet = { log: () => {}, error: () => {} };
    expect(await runCertsWithNewKeys(['init', '--secrets', root], seed, quiet, undefined, newKeyPair)).toBe(0);
    const publicKey = (file: string) =>
      new X509Certificate(readFileSync(join(paths(root).public, file), 'utf8')).publicKey.export({ type: 'spki', format: 'pem' });
    const used = ['ca/buildkit-ca/ca.pem', 'apps/buildkit-daemon-certs/cert.pem', 'apps/buildkit-client-certs/cert.pem'].map(publicKey);
    expect(given).toHaveLength(3);
    expect(new Set(given).size).toBe(3);
    expect(used.sort()).toEqual(given.sort());
  });

  test('the daemon Secret carries the name the chart mounts', async () => {
    const root = join(work, 'renamed');
    const quiet = { log: () => {}, error: () => {} };
    expect(await runCerts(['init', '--secrets', root], chart({ certSecretName: 'team-builder-certs' }), quiet)).toBe(0);
    expect(readFileSync(join(root, 'apps', 'team-builder-certs.yaml'), 'utf8')).toMatch(/^ {2}name: team-builder-certs$/m);
    expect(await runCerts(['check', '--secrets', root], chart({ certSecretName: 'team-builder-certs' }), io())).toBe(0);
    expect(out.some((l) => l.startsWith('OK   server (team-builder-certs)'))).toBe(true);
  });

  test('a command that changes a daemon Secret synthesizes again, from the secrets/ it was given, wherever the flag stands', async () => {
    const roots: string[] = [];
    const resynth = (root: string) => {
      roots.push(root);
      return ['dist', 'gitops/dist', 'README.md'];
    };
    expect(await runCerts(['--secrets', secrets, 'rotate'], seed, io(), resynth)).toBe(0);
    expect(roots).toEqual([secrets]);
    expect(out).toContain('synthesized dist/, gitops/dist/, README.md: commit them with secrets/');
    expect(await runCerts(['issue-client', 'no-synth', '--secrets', secrets], seed, io(), resynth)).toBe(0);
    expect(roots).toEqual([secrets]);
    // A command that failed leaves dist/ alone.
    expect(await runCerts(['rotate', '--force', '--secrets', secrets], seed, io(), resynth)).toBe(2);
    expect(roots).toEqual([secrets]);
  });

  test('init, revoke and recipients synthesize again too', async () => {
    const root = join(work, 'resynth');
    const roots: string[] = [];
    const resynth = (r: string) => {
      roots.push(r);
      return ['dist'];
    };
    const quiet = { log: () => {}, error: () => {} };
    expect(await runCerts(['init', '--secrets', root], seed, quiet, resynth)).toBe(0);
    expect(await runCerts(['issue-client', 'gone', '--secrets', root], seed, quiet, resynth)).toBe(0);
    expect(await runCerts(['revoke', 'gone', '--secrets', root], seed, quiet, resynth)).toBe(0);
    expect(await runCerts(['recipients', 'remove', WELL_FORMED_RECIPIENT, '--secrets', root], seed, quiet, resynth)).toBe(0);
    expect(roots).toEqual([root, root, root]);
  });

  // The outputs are made from the repository's secrets/ alone: from another folder the next synth would undo them.
  test("certs.ts synthesizes the repository's outputs after a command on its own secrets/, and leaves them for any other folder", async () => {
    const repository = mkdtempSync(join(tmpdir(), 'buildkit-certs-repository-'));
    try {
      const resynth = certsResynth({ root: repository, config: {} });
      const elsewhere = join(work, 'elsewhere');
      expect(await runCerts(['init', '--secrets', elsewhere], seed, io(), resynth)).toBe(0);
      expect(out.at(-1)).toBe(`left dist/ as it is: it is made from the repository's own secrets/, not ${elsewhere}`);
      expect(readdirSync(repository)).toEqual([]);
      // The same folder however it is spelt.
      const own = `${repository}/./secrets/`;
      expect(await runCerts(['init', '--secrets', own], seed, io(), resynth)).toBe(0);
      expect(out.at(-1)).toBe('synthesized dist/, gitops/dist/: commit them with secrets/');
      expect(readdirSync(repository).sort()).toEqual(['dist', 'gitops', 'secrets']);
    } finally {
      rmSync(repository, { recursive: true, force: true });
    }
  });

  test('a synth that fails after the command says the command is done, and exits 1', async () => {
    const failing = () => {
      throw new Error('disk full');
    };
    expect(await runCerts(['sync', '--secrets', secrets], seed, io(), failing)).toBe(1);
    expect(errors).toEqual(['certs: sync is done, but the synth that follows it failed: disk full']);
  });

  test('check prints a line per certificate: purpose, subject, issuer, expiry, and the SANs of those that have them', async () => {
    expect(await run('check')).toBe(0);
    const issuer = 'issuer CN=buildkit-service CA \\d+, O=buildkit-service; not after \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(\\d+ days\\)';
    expect(out).toContainEqual(
      expect.stringMatching(new RegExp(`^OK {3}CA \\d+: CN=buildkit-service CA \\d+, O=buildkit-service; ${issuer}$`)),
    );
    expect(out).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^OK {3}server \\(buildkit-daemon-certs\\): CN=buildkitd, O=buildkit-service; ${issuer}; SANs DNS:buildkitd, DNS:[^;]*, IP Address:127\\.0\\.0\\.1$`,
        ),
      ),
    );
    expect(out).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^OK {3}client in-cluster, chains to CA \\d+ \\(current\\): CN=buildkit-client-in-cluster, O=buildkit-service; ${issuer}$`,
        ),
      ),
    );
  });

  test('check prints its notes after the certificates: without the key, that it read the public copies', async () => {
    const keyless = join(work, 'keyless');
    cpSync(secrets, keyless, { recursive: true });
    rmSync(join(keyless, 'age', 'age-key.txt'));
    expect(await runCerts(['check', '--secrets', keyless], seed, io())).toBe(0);
    expect(out.at(-1)).toBe(
      `no age key: checked the public copies in ${join(keyless, 'public')}; run with the key to check each key against its certificate`,
    );
    expect(out.slice(0, -1).every((l) => l.startsWith('OK   '))).toBe(true);
  });

  test('recipients remove of a key .sops.yaml does not name changes nothing, and says so', async () => {
    expect(await run('recipients', 'remove', WELL_FORMED_RECIPIENT)).toBe(0);
    expect(out).toEqual([`.sops.yaml already does not name ${WELL_FORMED_RECIPIENT}: nothing to do`]);
  });

  test('export prints the client commands', async () => {
    expect(await run('issue-client', 'laptop')).toBe(0);
    expect(await run('export', 'laptop', '--out', join(work, 'bundle'))).toBe(0);
    expect(out[out.findIndex((l) => l.startsWith('docker buildx create ')) - 1]).toBe('');
    expect(out.filter((l) => l.startsWith('docker buildx create '))).toHaveLength(1);
    // A folder holding another tool's key.pem: replaced only with --force.
    const docker = join(work, 'docker');
    mkdirSync(docker);
    writeFileSync(join(docker, 'key.pem'), 'not ours');
    expect(await run('export', 'laptop', '--out', docker)).toBe(2);
    expect(errors[0]).toMatch(/already holds key\.pem, which export did not write: .* pass --force to replace them$/);
    expect(await run('export', 'laptop', '--out', docker, '--force')).toBe(0);
    expect(out.filter((l) => l.startsWith('buildctl --addr tcp://'))).toHaveLength(1);
  });

  test('on the terminal, each printed command is a line of its own', async () => {
    const printed: string[] = [];
    await run('issue-client', 'terminal');
    const spy = jest.spyOn(console, 'log').mockImplementation((...args) => {
      printed.push(args.join(' '));
    });
    try {
      expect(await runCerts(['export', 'terminal', '--out', join(work, 'bundle2'), '--secrets', secrets], seed)).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(printed.filter((l) => /^(docker buildx create|buildctl) /.test(l))).toHaveLength(2);
    expect(printed.every((l) => !l.includes('\n'))).toBe(true);
  });

  test.each([[['--help']], [['-h']], [['help']], [['issue-client', 'x', '--help']]])(
    'certs %j prints the usage on stdout and exits 0, doing nothing else',
    async (args) => {
      const before = treeDigest(secrets);
      expect(await runCerts([...args, '--secrets', secrets], seed, io())).toBe(0);
      expect(out).toEqual([expect.stringMatching(/^usage: npm run certs -- <command> \[options\]\n[\s\S]*\nexit codes: 0 ok/)]);
      expect(errors).toEqual([]);
      expect(treeDigest(secrets)).toEqual(before);
    },
  );

  test('on the terminal, errors go to stderr', async () => {
    const printed: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args) => {
      printed.push(args.join(' '));
    });
    try {
      expect(await runCerts(['frobnicate'], seed)).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(printed[0]).toBe('certs: unknown command frobnicate');
  });

  test('without tenants, a printed fix is the command as it is typed, with no --tenant', async () => {
    expect(await runCerts(['check', '--secrets', join(work, 'none')], seed, io())).toBe(1);
    expect(errors).toEqual([expect.stringMatching(/: run `npm run certs -- init`$/)]);
  });

  test('check over every tenant takes --min-days as check does', async () => {
    const tenants = (app: any) => serviceCharts(app, { tenants: [{ name: 'team-a' }] });
    expect(await runCerts(['check', '--min-days', '0', '--secrets', secrets], tenants, io())).toBe(2);
    expect(errors[0]).toBe('certs: --min-days 0: use a whole number of days from 1 to 36500');
  });

  test('a client may not outlive the CA: a day past it exits 1 and writes nothing; the most days it names are taken', async () => {
    expect(await run('issue-client', 'long', '--days', '3651')).toBe(1);
    expect(errors).toEqual([
      expect.stringMatching(
        /^certs: invalid validity 3651 days for \S+: it would outlive its CA, which expires \S+: use at most (\d+) days, or rotate the CA first \(`npm run certs -- rotate --ca`\)$/,
      ),
    ]);
    expect(existsSync(paths(secrets).client('long'))).toBe(false);
    const most = /use at most (\d+) days/.exec(errors[0])![1];
    expect(await run('issue-client', 'long', '--days', most)).toBe(0);
    const validTo = new Date(new X509Certificate(readFileSync(join(secrets, 'public', 'clients', 'long', 'cert.pem'))).validTo);
    const caValidTo = new Date(new X509Certificate(readFileSync(join(secrets, 'public', 'ca', 'buildkit-ca', 'ca.pem'))).validTo);
    expect(validTo <= caValidTo && validTo.getTime() > caValidTo.getTime() - 86_400_000).toBe(true);
    // The longest validity there is passes the flag's check, and meets the CA's.
    expect(await run('issue-client', 'longest', '--days', '36500')).toBe(1);
    expect(errors[0]).toMatch(/^certs: invalid validity 36500 days for \S+: it would outlive its CA/);
  });

  test('check shows a certificate whose end cannot be read as unreadable, with its problem, and checks the others', async () => {
    const fresh = join(work, 'unreadable');
    expect(await runCerts(['init', '--secrets', fresh], seed, io())).toBe(0);
    expect(await runCerts(['issue-client', 'big', '--secrets', fresh], seed, io())).toBe(0);
    // test/fixtures/pki/unreadable-end: what issue-client wrote for --days 99999999999 before validity was bounded.
    const unreadable = readFileSync(join(__dirname, 'fixtures', 'pki', 'unreadable-end', 'cert.pem'), 'utf8');
    await editSops(fresh, paths(fresh).client('big'), (doc) => {
      doc.stringData['cert.pem'] = unreadable;
    });
    expect(await runCerts(['check', '--secrets', fresh], seed, io())).toBe(1);
    expect(out.filter((l) => l.startsWith('FAIL'))).toEqual([expect.stringMatching(/^FAIL client big: .*; not after unreadable$/)]);
    expect(out).toContain('client big: its end of validity cannot be read ("Bad time value"): issue it again');
    expect(out.filter((l) => l.startsWith('OK   ')).length).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
  });

  test('init with leaves as long as the CA takes them, though issued after it: each ends with the CA', async () => {
    const fresh = join(work, 'one-day');
    expect(await runCerts(['init', '--ca-days', '1', '--server-days', '1', '--client-days', '1', '--secrets', fresh], seed, io())).toBe(0);
    const validTo = (...path: string[]) => new X509Certificate(readFileSync(join(fresh, 'public', ...path))).validTo;
    expect(validTo('apps', 'buildkit-daemon-certs', 'cert.pem')).toBe(validTo('ca', 'buildkit-ca', 'ca.pem'));
    expect(validTo('apps', 'buildkit-client-certs', 'cert.pem')).toBe(validTo('ca', 'buildkit-ca', 'ca.pem'));
  });

  test('issuing a client that exists, without --renew, exits 1 with one line saying why', async () => {
    expect(await run('issue-client', 'twice')).toBe(0);
    expect(await run('issue-client', 'twice')).toBe(1);
    expect(errors).toEqual([expect.stringMatching(/^certs: client twice exists \(.*twice\.yaml\): pass --renew to re-issue it$/)]);
  });

  test.each([
    [['frobnicate'], 2, 'certs: unknown command frobnicate'],
    [[], 2, 'certs: no command'],
    [['export', 'laptop'], 2, 'certs: export needs --out DIR'],
    [['issue-client'], 2, 'certs: issue-client needs a client NAME'],
    [['init', '--ca-days', 'ten'], 2, 'certs: --ca-days ten: use a whole number of days from 1 to 36500'],
    [['check', '--min-days', '0'], 2, 'certs: --min-days 0: use a whole number of days from 1 to 36500'],
    [['check', '--min-days', '1x'], 2, 'certs: --min-days 1x: use a whole number of days from 1 to 36500'],
    [['check', '--min-days', 'x1'], 2, 'certs: --min-days x1: use a whole number of days from 1 to 36500'],
    // Node's own text advises a `--` before it, which npm run has already taken.
    [['check', '--bogus'], 2, 'certs: unknown option --bogus'],
    [['issue-client', '--name', 'ci'], 2, 'certs: unknown option --name'],
    // Node's text for these runs to three lines; --secrets follows (run() appends it), so Node calls it ambiguous.
    [['export', 'laptop', '--out'], 2, 'certs: --out needs a value; write --out=VALUE for one that starts with "-"'],
    [['issue-client', 'Bad_Name'], 2, 'certs: invalid client name "Bad_Name"'],
    [['rotate', '--force'], 2, 'certs: --force goes with --finish-ca'],
    [['rotate', '--ca', '--finish-ca'], 2, 'certs: rotate takes --ca or --finish-ca, not both'],
    [['revoke', 'nobody'], 2, 'certs: no client nobody'],
    [['issue-client', 'ns-test', '--namespace', 'CI Runners'], 2, 'certs: invalid --namespace "CI Runners"'],
    [['recipients', 'add', 'age1nope'], 2, 'certs: invalid age recipient "age1nope"'],
    // A recipient's shape (age1 and 58 bech32 characters), with text before or after it.
    [
      ['recipients', 'add', `x${WELL_FORMED_RECIPIENT}`],
      2,
      `certs: invalid age recipient "x${WELL_FORMED_RECIPIENT}": use an age1... public key`,
    ],
    [
      ['recipients', 'add', `${WELL_FORMED_RECIPIENT}q`],
      2,
      `certs: invalid age recipient "${WELL_FORMED_RECIPIENT}q": use an age1... public key`,
    ],
    [['recipients', 'list'], 2, 'certs: recipients takes add or remove, then an age1... public key'],
    [['recipients', 'add'], 2, 'certs: recipients add needs an age1... public key'],
    [['init', '--server-days', '0'], 2, 'certs: --server-days 0: use a whole number of days from 1 to 36500'],
    [['init', '--client-days', '0'], 2, 'certs: --client-days 0: use a whole number of days from 1 to 36500'],
    [['issue-client', 'x', '--days', '0'], 2, 'certs: --days 0: use a whole number of days from 1 to 36500'],
    // Past 100 years, and far past what a Date holds: a certificate with no valid end once broke every check.
    [['issue-client', 'x', '--days', '36501'], 2, 'certs: --days 36501: use a whole number of days from 1 to 36500'],
    [['issue-client', 'x', '--days', '99999999999'], 2, 'certs: --days 99999999999: use a whole number of days from 1 to 36500'],
    [['init', '--ca-days', '36501'], 2, 'certs: --ca-days 36501: use a whole number of days from 1 to 36500'],
    [['rotate', '--server-days', '0'], 2, 'certs: --server-days 0: use a whole number of days from 1 to 36500'],
    [['sync', '--server-days', '0'], 2, 'certs: --server-days 0: use a whole number of days from 1 to 36500'],
    [['revoke'], 2, 'certs: revoke needs a client NAME'],
    [['export', '--out', 'bundle'], 2, 'certs: export needs a client NAME'],
    [['check', 'one', 'two'], 2, 'certs: unexpected one two'],
    // A blank value is refused, not read as none (or, for --secrets, as the current folder).
    [['export', 'x', '--out', ' '], 2, 'certs: --out needs a value, and got a blank one'],
    [['init', '--recipient', WELL_FORMED_RECIPIENT, '--recipient', ' '], 2, 'certs: --recipient needs a value, and got a blank one'],
    // A word or an option the command does not take is refused, not ignored: rotate would issue for the default days.
    [['check', 'team-a'], 2, 'certs: unexpected team-a'],
    [['sync', 'extra'], 2, 'certs: unexpected extra'],
    [['rotate', '--days', '30'], 2, 'certs: rotate takes no --days: it takes --ca, --finish-ca, --force, --server-days'],
    [['check', '--days', '5'], 2, 'certs: check takes no --days: it takes --min-days'],
    [['issue-client', 'x', '--force'], 2, 'certs: issue-client takes no --force: it takes --renew, --days, --namespace'],
    [['revoke', 'x', '--renew'], 2, 'certs: revoke takes no --renew: it takes only --secrets and --tenant'],
    [['recipients', 'add', WELL_FORMED_RECIPIENT, 'x', 'y'], 2, 'certs: unexpected x y'],
    [['check', '--tenant', 'team-a'], 2, 'certs: --tenant team-a: config.ts has no tenants; leave --tenant out'],
    [['init', '--client-namespace', 'ci'], 2, 'certs: --client-namespace is a setting now'],
  ])('certs %j exits %i with one line saying why', async (args, code, message) => {
    expect(await run(...args)).toBe(code);
    expect(errors[0]).toContain(message);
    expect(errors[0]).not.toContain('\n');
    expect(errors[0].match(/certs: /g)).toHaveLength(1);
    if (code === 2)
      expect(errors[1]).toMatch(
        /^usage: npm run certs -- <command> \[options\]\n[\s\S]*\nexit codes: 0 ok, 1 a check or the command failed, 2 usage$/,
      );
  });
});

describe('what each command takes, as the usage lists it', () => {
  // Every option the usage shows on a command's line is taken with it; every other option is refused. A line is
  // the command's synopsis, then (after two spaces or more) what it does.
  const lines = USAGE.split('\n')
    .filter((l) => /^ {2}[a-z-]+/.test(l))
    .map((l) => l.trim().split(/ {2,}/)[0]);
  const commands = lines.map((l) => ({
    command: l.split(' ')[0],
    named: l.split(' ')[1] === 'NAME',
    options: [...new Set(l.match(/--[a-z-]+/g) ?? [])],
  }));
  const allOptions = [...new Set(USAGE.match(/--[a-z-]+/g))].filter((o) => o !== '--secrets' && o !== '--tenant');
  // An option shown with a placeholder after it (N, NS, DIR, age1...) takes a value; the rest are flags.
  const valued = new Set([...USAGE.matchAll(/(--[a-z-]+) (?:[A-Z]+\b|age1)/g)].map((m) => m[1]));
  const argv = (command: string, option: string) => [
    command,
    ...(commands.find((c) => c.command === command)!.named ? ['c'] : []),
    option,
    ...(valued.has(option) ? [option.endsWith('days') ? '5' : 'x'] : []),
  ];

  test('the usage shows the flags and the options that take a value', () => {
    expect([...valued].sort()).toEqual(
      [
        '--ca-days',
        '--client-days',
        '--days',
        '--min-days',
        '--namespace',
        '--out',
        '--recipient',
        '--secrets',
        '--server-days',
        '--tenant',
      ].sort(),
    );
    expect(allOptions.filter((o) => !valued.has(o)).sort()).toEqual(['--ca', '--finish-ca', '--force', '--renew']);
    expect(commands.filter((c) => c.named).map((c) => c.command)).toEqual(['issue-client', 'revoke', 'export']);
  });

  test('the usage lists the nine commands', () => {
    expect(commands.map((c) => c.command)).toEqual([
      'init',
      'issue-client',
      'rotate',
      'revoke',
      'sync',
      'recipients',
      'export',
      'check',
      'migrate',
    ]);
  });

  test.each(commands.flatMap(({ command, options }) => allOptions.map((option) => [command, option, options.includes(option)] as const)))(
    '%s %s: taken %s',
    (command, option, taken) => {
      const parse = () => parseCertsArguments(argv(command, option));
      if (taken) expect(parse).not.toThrow();
      else expect(parse).toThrow(`${command} takes no ${option}: it takes `);
    },
  );

  test('--secrets and --tenant go with every command', () => {
    for (const { command } of commands) expect(() => parseCertsArguments([command, '--secrets', 's', '--tenant', 't'])).not.toThrow();
  });

  test("a blank --secrets is refused: resolved, '' would be the current folder", () => {
    expect(() => parseCertsArguments(['check', '--secrets', ''])).toThrow(new Error('--secrets needs a value, and got a blank one'));
    expect(parseCertsArguments(['check', '--secrets', 'dir']).values.secrets).toBe('dir');
  });

  test('--client-namespace, moved to config.ts, is taken by init only to say so, and not offered', () => {
    expect(() => parseCertsArguments(['init', '--days', '3'])).toThrow(
      new Error('init takes no --days: it takes --recipient, --ca-days, --server-days, --client-days'),
    );
    expect(() => parseCertsArguments(['init', '--client-namespace', 'ci'])).not.toThrow();
  });

  test('an unknown command is left to the caller to name', () => {
    expect(parseCertsArguments(['toString', 'x', '--days', '1']).command).toBe('toString');
  });
});
