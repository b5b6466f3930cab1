import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChooserUsageError,
  chooseEndpoint,
  cksum,
  endpointScript,
  isEndpoint,
  rankEndpoints,
  rendezvousScore,
} from '../lib/endpoint-chooser';
import { describeWith, testWith } from './support/programs';

/**
 * An endpoint refused for certain: another loopback address on the port that our own listener holds on
 * 127.0.0.1, which no other process can take meanwhile (a port closed and freed could be, by a parallel test).
 */
const refusedAt = (listener: string, lastOctet = 2) => `127.0.0.${lastOctet}:${listener.split(':')[1]}`;

const work = mkdtempSync(join(tmpdir(), 'buildkit-chooser-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const THREE = ['192.168.80.111:1234', '192.168.80.112:1234', '192.168.80.113:1234'];
const FIVE = [
  ...THREE,
  'buildkitd-3.buildkitd-headless.buildkit.svc.cluster.local:1234',
  'buildkitd-4.buildkitd-headless.buildkit.svc.cluster.local:1234',
];
const keys = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 7 === 0 ? `org-${i}/app with space` : i % 5 === 0 ? `ünï/${i}` : `repo-${i}`));

function script(endpoints: readonly string[]): string {
  const path = join(work, `chooser-${endpoints.length}`);
  writeFileSync(path, endpointScript(endpoints), { mode: 0o755 });
  return path;
}

testWith(['cksum'])('cksum is POSIX cksum, byte for byte (empty, short, UTF-8, longer than 256 bytes)', () => {
  for (const text of ['', 'a', 'repo-1|10.0.0.1:1234', 'ünï/app|h:1', 'x'.repeat(300), 'y'.repeat(70000)]) {
    const real = Number(execFileSync('sh', ['-c', 'printf "%s" "$1" | cksum', 'sh', text], { encoding: 'utf8' }).split(' ')[0]);
    expect({ text: text.slice(0, 20), crc: cksum(Buffer.from(text, 'utf8')) }).toEqual({ text: text.slice(0, 20), crc: real });
  }
});

/**
 * Runs a dash script with the chooser's functions loaded (BUILDKIT_ENDPOINT_LIB=1 stops it before its main
 * part): one dash process for a whole comparison, whatever the number of keys.
 */
function dashWithChooser(endpoints: readonly string[], body: string, ...args: string[]): string {
  return execFileSync('dash', ['-c', `BUILDKIT_ENDPOINT_LIB=1; . "$1"; shift; ${body}`, 'sh', script(endpoints), ...args], {
    encoding: 'utf8',
  });
}

describeWith(['dash', 'cksum'])('the shell script under dash agrees with the library', () => {
  test.each([[THREE], [FIVE]])('every key and endpoint scores exactly as the library (%#)', (endpoints) => {
    // One file per key|endpoint and one cksum over them all; the script's own mixer turns each CRC into a score.
    const pairs = keys(200).flatMap((k) => endpoints.map((e) => [k, e]));
    const dir = mkdtempSync(join(work, 'pairs-'));
    for (const [i, [k, e]] of pairs.entries()) writeFileSync(join(dir, String(i)), `${k}|${e}`);
    const out = dashWithChooser(
      endpoints,
      'set +f; cd "$1" && cksum * | while read -r crc size name; do mix "$crc"; echo "$name $score"; done',
      dir,
    );
    const scores = new Map(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([i, score]) => [Number(i), Number(score)]),
    );
    expect(scores.size).toBe(pairs.length);
    expect(pairs.filter(([k, e], i) => scores.get(i) !== rendezvousScore(k, e))).toEqual([]);
  });

  test.each([[THREE], [FIVE]])('rank, through its own cksum calls, orders keys exactly as the library (%#)', (endpoints) => {
    const keyList = keys(16);
    writeFileSync(join(work, 'keys'), `${keyList.join('\n')}\n`);
    const out = dashWithChooser(endpoints, 'while IFS= read -r k; do rank "$k" $ENDPOINTS; echo; done < "$1"', join(work, 'keys'));
    expect(
      out
        .split('\n\n')
        .slice(0, -1)
        .map((l) => l.trim().split('\n').join(' ')),
    ).toEqual(keyList.map((k) => rankEndpoints(k, endpoints).join(' ')));
  });
});

test('ownership is balanced, and adding a replica moves only the keys the new one takes', () => {
  const many = keys(3000);
  const owners = (endpoints: string[]) => many.map((k) => rankEndpoints(k, endpoints)[0]);
  const three = owners(THREE);
  for (const e of THREE) {
    const share = three.filter((o) => o === e).length / many.length;
    expect({ e, balanced: share > 0.28 && share < 0.39 }).toEqual({ e, balanced: true });
  }
  const four = owners([...THREE, '192.168.80.114:1234']);
  const moved = many.filter((_, i) => three[i] !== four[i]);
  expect(moved.every((k) => four[many.indexOf(k)] === '192.168.80.114:1234')).toBe(true);
  expect(moved.length / many.length).toBeGreaterThan(0.2);
  expect(moved.length / many.length).toBeLessThan(0.3);
});

describeWith(['dash', 'cksum'])('failover, with listeners on loopback only', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });
  const listen = () =>
    new Promise<string>((resolve) => {
      const s = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1', () =>
        resolve(`127.0.0.1:${(s.address() as AddressInfo).port}`),
      );
      servers.push(s);
    });
  test("the first endpoint that accepts TCP, in the key's order: library and script agree", async () => {
    const [up1, up2] = [await listen(), await listen()];
    const down = refusedAt(up1);
    const endpoints = [up1, up2, down];
    // A key whose first choice is the one that is down.
    const key = keys(500).find((k) => rankEndpoints(k, endpoints)[0] === down)!;
    const expected = rankEndpoints(key, endpoints)[1];
    expect(await chooseEndpoint(key, endpoints, 10_000)).toBe(expected);
    // The probe's time includes starting bash (there is no nc here): a busy machine needs more than a second.
    const env = { ...process.env, BUILDKIT_ENDPOINT_TIMEOUT: '60' };
    const run = spawnSync('dash', [script(endpoints), key], { encoding: 'utf8', env });
    expect({ status: run.status, out: run.stdout.trim(), err: run.stderr }).toEqual({ status: 0, out: expected, err: '' });
    await expect(chooseEndpoint(key, [down], 10_000)).rejects.toThrow(/^no endpoint accepts connections/);
    const none = spawnSync('dash', [script([down]), key], { encoding: 'utf8', env });
    expect({ status: none.status, err: none.stderr.trim() }).toEqual({
      status: 1,
      err: `buildkit-endpoint: no endpoint accepts connections: ${down}`,
    });
  });
});

testWith(['dash', 'cksum'])('the probe waits BUILDKIT_ENDPOINT_TIMEOUT seconds, 1 when unset, with nc -z -w', () => {
  // A stand-in nc that records its arguments and accepts.
  const bin = mkdtempSync(join(work, 'bin-'));
  writeFileSync(join(bin, 'nc'), `#!/bin/sh\necho "$@" >> ${join(bin, 'calls')}\n`, { mode: 0o755 });
  const probe = (env: Record<string, string>) => {
    const run = spawnSync('dash', [script(['127.0.0.1:1234']), 'org/app'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
    });
    expect(run.stdout).toBe('127.0.0.1:1234\n');
  };
  probe({});
  probe({ BUILDKIT_ENDPOINT_TIMEOUT: '7' });
  expect(readFileSync(join(bin, 'calls'), 'utf8')).toBe('-z -w 1 127.0.0.1 1234\n-z -w 7 127.0.0.1 1234\n');
});

describeWith(['dash'])('bad input: one line, exit 2', () => {
  test.each(['0', '01', 'x', '1.5', '-1', ' 1'])('BUILDKIT_ENDPOINT_TIMEOUT %j', (seconds) => {
    const run = spawnSync('dash', [script(THREE), 'org/app'], {
      encoding: 'utf8',
      env: { ...process.env, BUILDKIT_ENDPOINT_TIMEOUT: seconds },
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({
      status: 2,
      stderr: `buildkit-endpoint: invalid BUILDKIT_ENDPOINT_TIMEOUT "${seconds}": use whole seconds, such as 1\n`,
    });
  });

  test.each([
    [['', ...THREE], 'buildkit-endpoint: the key is empty: give the repository, such as org/app', /^the key is empty/],
    [
      ['org/app', '192.168.80.111:1234', '192.168.80.111:1234'],
      'buildkit-endpoint: endpoint 192.168.80.111:1234 is listed twice',
      /^endpoint 192\.168\.80\.111:1234 is listed twice$/,
    ],
    [
      ['org/app', 'tcp://192.168.80.111:1234'],
      'buildkit-endpoint: invalid endpoint "tcp://192.168.80.111:1234": use host:port, such as 192.168.80.111:1234',
      /^invalid endpoint "tcp:\/\/192\.168\.80\.111:1234"/,
    ],
    [
      ['org/app', 'buildkitd'],
      'buildkit-endpoint: invalid endpoint "buildkitd": use host:port, such as 192.168.80.111:1234',
      /^invalid endpoint "buildkitd"/,
    ],
  ])('%j', (args, line, libraryMessage) => {
    const run = spawnSync('dash', [script(THREE), ...args], { encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 2, stderr: `${line}\n` });
    const [key, ...endpoints] = args;
    expect(() => rankEndpoints(key, endpoints.length ? endpoints : THREE)).toThrow(libraryMessage);
    expect(() => rankEndpoints(key, endpoints.length ? endpoints : THREE)).toThrow(ChooserUsageError);
  });
});

const GRAMMAR_CASES = [
  ...['a:1', 'a.b-c.d:65535', '10.0.0.1:9', 'A9:08', 'x:1234'],
  ...['-x:1', 'a:99999999', '.a:1', 'a.:1', 'a:1 b:2', 'a:0', 'a:00000', 'a:65536', 'a:', ':1', 'a', 'a:1:2', '?z:9', '*:1'],
  ...['h_st:1', 'tcp://h:1', ' a:1', 'a:1 ', 'a:-1', 'a:+1', 'a:1e3', 'ü:1', ''],
];

describeWith(['dash'])('one endpoint grammar in the library and the script', () => {
  test("every case is accepted or refused alike by isEndpoint and the script's valid_endpoint", () => {
    const out = execFileSync(
      'dash',
      [
        '-c',
        'BUILDKIT_ENDPOINT_LIB=1; . "$1"; shift; for e in "$@"; do if valid_endpoint "$e"; then echo 1; else echo 0; fi; done',
        'sh',
        script(THREE),
        ...GRAMMAR_CASES,
      ],
      { encoding: 'utf8' },
    );
    const verdicts = (accepts: (e: string) => boolean) =>
      GRAMMAR_CASES.map((e) => `${JSON.stringify(e)} ${accepts(e) ? 'accepted' : 'refused'}`);
    expect(verdicts((e) => out.split('\n')[GRAMMAR_CASES.indexOf(e)] === '1')).toEqual(verdicts(isEndpoint));
    expect(GRAMMAR_CASES.filter(isEndpoint)).toEqual(['a:1', 'a.b-c.d:65535', '10.0.0.1:9', 'A9:08', 'x:1234']);
  });

  test.each([['-x:1'], ['a:99999999'], ['a:1 b:2'], ['?z:9']])(
    'the command refuses %j as one line, exit 2, with a file "zz:9" beside it',
    (endpoint) => {
      const cwd = mkdtempSync(join(work, 'glob-'));
      writeFileSync(join(cwd, 'zz:9'), '');
      const run = spawnSync('dash', [script(THREE), 'org/app', endpoint], { cwd, encoding: 'utf8' });
      expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
        status: 2,
        stdout: '',
        stderr: `buildkit-endpoint: invalid endpoint ${JSON.stringify(endpoint)}: use host:port, such as 192.168.80.111:1234\n`,
      });
    },
  );

  test('without cksum on PATH it exits 2 with one line instead of printing the first endpoint', () => {
    const bin = mkdtempSync(join(work, 'bin-'));
    for (const tool of ['dash', 'sort', 'cut', 'nc']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    // Loopback endpoints: were the check gone, the script would dial them, never another address.
    const run = spawnSync(join(bin, 'dash'), [script(['127.0.0.1:1', '127.0.0.1:2']), 'org/app'], { env: { PATH: bin }, encoding: 'utf8' });
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 2,
      stdout: '',
      stderr: 'buildkit-endpoint: no cksum on PATH, which ranks the endpoints: install coreutils (or busybox with its cksum applet)\n',
    });
  });
});

test('the library refuses every malformed endpoint list, and takes the well-formed edge cases', () => {
  for (const bad of [
    '-host:1',
    'host-:1',
    'host:',
    ':1234',
    'host:123456',
    'host:abc',
    'host:1:2',
    ' host:1',
    'host:1 ',
    'h_st:1',
    'tcp://h:1',
  ]) {
    expect({
      bad,
      thrown: (() => {
        try {
          rankEndpoints('k', [bad]);
          return '';
        } catch (e) {
          return (e as Error).message;
        }
      })(),
    }).toEqual({ bad, thrown: `invalid endpoint ${JSON.stringify(bad)}: use host:port, such as 192.168.80.111:1234` });
  }
  expect(() => rankEndpoints('k', [])).toThrow(/^no endpoints: give host:port of each replica$/);
  expect(rankEndpoints('k', ['a:1'])).toEqual(['a:1']);
  expect(rankEndpoints('k', ['a.b-c.d:65535', '10.0.0.1:9'])).toHaveLength(2);
  expect(() => endpointScript(['a:1', 'no-port'])).toThrow(/^invalid endpoint "no-port": use host:port$/);
  expect(endpointScript(['a:1', 'b:2'])).toContain('\nENDPOINTS="a:1 b:2"\n');
});

test('with nothing reachable, the library names every endpoint it tried', async () => {
  const held = createServer().listen(0, '127.0.0.1');
  await once(held, 'listening');
  const port = (held.address() as AddressInfo).port;
  const [closed, other] = [refusedAt(`127.0.0.1:${port}`), refusedAt(`127.0.0.1:${port}`, 3)];
  try {
    await expect(chooseEndpoint('k', [closed, other], 10_000)).rejects.toThrow(
      new RegExp(`^no endpoint accepts connections: (${closed}, ${other}|${other}, ${closed})$`.replace(/\./g, '\\.')),
    );
  } finally {
    held.close();
  }
});
