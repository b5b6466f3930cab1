import { BlockList } from 'node:net';
import { checkCidr } from '../lib/addresses';
import { checkKnownKeys } from '../lib/props-shape';
import { checkGitRevision, checkGoDuration, checkLabelName, checkRepoURL } from '../lib/validation';

// The checkers on their own, at each limit from both sides; test/validation.test.ts reaches them through a synth.

describe('checkCidr', () => {
  test.each(['10.0.0.0/8', '10.0.0.0/32', '0.0.0.0/0', '2001:db8::/64', '2001:db8::/128'])('%s passes', (cidr) => {
    expect(checkCidr('P', 'cidr', cidr)).toBe(cidr);
  });
  test.each(['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '2001:db8::/129', 'gateway/8', '10.0.0.0/8/1', '10.0.0.0/8x', '10.0.0.0/x8'])(
    '%s is refused with one line',
    (cidr) => {
      expect(() => checkCidr('P', 'cidr', cidr)).toThrow(
        new Error(`P: invalid cidr ${JSON.stringify(cidr)}: use address/prefix such as 192.168.0.0/16`),
      );
    },
  );
});

describe('checkCidr: bits past the prefix, which network plugins read three ways', () => {
  test.each([
    ['10.0.0.1/8', '10.0.0.0/8', '10.0.0.1/32'],
    ['192.168.1.1/31', '192.168.1.0/31', '192.168.1.1/32'],
    ['1.2.3.4/0', '0.0.0.0/0', '1.2.3.4/32'],
    ['2001:db8::1/64', '2001:db8::/64', '2001:db8::1/128'],
    ['fd00::1/8', 'fd00::/8', 'fd00::1/128'],
    ['::ffff:10.0.0.1/120', '::ffff:a00:0/120', '::ffff:10.0.0.1/128'],
    ['::ffff:192.168.100.201/126', '::ffff:c0a8:64c8/126', '::ffff:192.168.100.201/128'],
    ['2001:db8:0:0:0:0:0:1/127', '2001:db8::/127', '2001:db8:0:0:0:0:0:1/128'],
  ])('%s is refused, naming the range and the one address', (cidr, range, one) => {
    expect(() => checkCidr('P', 'cidr', cidr)).toThrow(
      new Error(
        `P: invalid cidr ${JSON.stringify(cidr)}: it has bits set past its prefix; use ${range} for the range, or ${one} for the one address`,
      ),
    );
  });
  test.each(['192.168.1.0/31', '192.168.1.1/32', '::ffff:10.0.0.0/120', '2001:db8:0:0:0:0:0:0/127', '::1/128', '::/0'])(
    '%s passes',
    (cidr) => {
      expect(checkCidr('P', 'cidr', cidr)).toBe(cidr);
    },
  );

  test("the range it names holds the address and passes itself: Node's BlockList agrees, 400 draws", () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 400; i++) {
      const v6 = i % 2 === 1;
      const address = v6
        ? Array.from({ length: 8 }, () => next(0x10000).toString(16)).join(':')
        : Array.from({ length: 4 }, () => next(256)).join('.');
      const prefix = next(v6 ? 128 : 32);
      let range: string | undefined;
      try {
        checkCidr('P', 'cidr', `${address}/${prefix}`);
      } catch (err) {
        range = /use (\S+)\/\d+ for the range/.exec((err as Error).message)![1];
      }
      if (range === undefined) continue;
      expect(checkCidr('P', 'cidr', `${range}/${prefix}`)).toBe(`${range}/${prefix}`);
      const list = new BlockList();
      list.addSubnet(range, prefix, v6 ? 'ipv6' : 'ipv4');
      expect([address, list.check(address, v6 ? 'ipv6' : 'ipv4')]).toEqual([address, true]);
    }
  });
});

describe('checkGoDuration', () => {
  // 2^63 - 1 nanoseconds, written two ways, is Go's longest; a nanosecond more is past it.
  test.each(['9223372036854775807ns', '2562047h47m16.854775807s', '2562047h', '1.25h30.5m', '90s', '1500ms'])('%s passes', (d) => {
    expect(checkGoDuration('P', 'maxAge', d, '168h')).toBe(d);
  });
  test.each(['9223372036854775808ns', '2562047h47m16.854775808s', '2562048h', '153722868m', '9223372036854776us'])('%s is past Go', (d) => {
    expect(() => checkGoDuration('P', 'maxAge', d, '168h')).toThrow(
      new Error(`P: invalid maxAge ${JSON.stringify(d)}: that is past Go's longest duration (about 2562047h); use a duration such as 168h`),
    );
  });
  test.each(['x168h', '168hx', '168', '1.h', '-1h', '', '1d'])('%j is no Go duration', (d) => {
    expect(() => checkGoDuration('P', 'maxAge', d, '168h')).toThrow(
      new Error(`P: invalid maxAge ${JSON.stringify(d)}: use a Go duration such as 168h`),
    );
  });
});

describe('checkRepoURL', () => {
  test.each([
    'https://git.example.com/a/b.git',
    'ssh://git@git.example.com/a/b.git',
    'git@github.com:a/b.git',
    // Credentials sit in the authority only: another URL further on in a mirror's path is no user.
    'https://git.example.com/mirrors/ssh://deploy@host/b.git',
  ])('%s passes', (url) => {
    expect(checkRepoURL('P', 'repoURL', url)).toBe(url);
  });
  test.each([
    'xhttps://git.example.com/a.git',
    'https://git.example.com/a.git extra',
    'ftp://git.example.com/a.git',
    'git.example.com/a.git',
    '',
  ])('%j is refused as no repository URL', (url) => {
    expect(() => checkRepoURL('P', 'repoURL', url)).toThrow(
      new Error(`P: invalid repoURL ${JSON.stringify(url)}: use the repository's https:// or ssh URL`),
    );
  });
  test.each([
    'https://user:token@git.example.com/a.git',
    'https://token@git.example.com/a.git',
    'ssh://deploy@git.example.com/a.git',
    'https://user:token@git.example.com/mirrors/ssh://git@host/b.git',
  ])('%s is refused for its credentials, without printing them', (url) => {
    expect(() => checkRepoURL('P', 'repoURL', url)).toThrow(
      new Error(
        'P: invalid repoURL: it carries credentials (user:token@); give the URL without them and the credentials to Flux or Argo CD as a Secret',
      ),
    );
  });
});

describe('checkGitRevision', () => {
  test.each(['a', 'main', 'v1.2.0', 'release/2026.12', 'feature_x-y', 'x.lockdown', 'a'.repeat(255)])('%s passes', (rev) => {
    expect(checkGitRevision('P', 'targetRevision', rev)).toBe(rev);
  });
  test.each([
    'a'.repeat(256),
    '--upload-pack=x',
    '.hidden',
    'main branch',
    'main~1',
    'v1^{}',
    'a..b',
    'a//b',
    'a@{1}',
    'x.lock',
    'x.lock/y',
    'dir/',
    'end.',
    'a/.b',
    '',
  ])('%j is refused with one line', (rev) => {
    expect(() => checkGitRevision('P', 'targetRevision', rev)).toThrow(
      new Error(`P: invalid targetRevision ${JSON.stringify(rev)}: use a branch, tag or commit, such as main, v1.2.0 or a commit hash`),
    );
  });
});

test('label names with one-letter parts of their prefix pass', () => {
  for (const name of ['a/name', 'a.b/name', 'example.com/x', 'x']) expect(checkLabelName('P', 'label', name, 'app')).toBe(name);
  expect(() => checkLabelName('P', 'label', 'a./name', 'app')).toThrow(
    new Error('P: invalid label "a./name": use a Kubernetes label name, such as app'),
  );
});

test('settings that are no object at all are named as the settings', () => {
  expect(() => checkKnownKeys('P', null as unknown as { a: string; b: number }, { a: 'string', b: 'number' })).toThrow(
    new Error('P: invalid settings null: use an object with a, b'),
  );
});
