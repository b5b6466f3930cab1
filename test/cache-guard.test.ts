import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_GUARD_SCRIPT } from '../lib/cache-guard-script';
import { find, synthChart } from './support/chart';
import { baselineViolations } from './support/pod-security';
import { describeWith } from './support/programs';

// The cache guard, run by dash (a strict POSIX sh, as busybox sh is in the BuildKit image) against a stand-in
// buildctl: `du` answers with a file's content (the real v0.32.2 output among them) or fails, `prune` logs
// its arguments. What it must do: prune at the threshold and not below it, ask to keep the GC's amount,
// and keep going, saying why, when the daemon does not answer or the reading is not BuildKit's.

const DU_FIXTURE = join(__dirname, 'fixtures/buildkit/du-v0.32.2.json');
/** The sizes in the real `buildctl du --format '{{json .}}'` output, summed independently of the script. */
const FIXTURE_BYTES = (JSON.parse(readFileSync(DU_FIXTURE, 'utf8')) as Array<{ size: number }>).reduce((n, r) => n + r.size, 0);

const withDash = describeWith(['dash']);

withDash('the guard script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildkit-guard-'));
  const script = join(dir, 'cache-guard.sh');
  writeFileSync(script, CACHE_GUARD_SCRIPT);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A buildctl whose `du` prints the file `du` (or fails with `du.fail`'s text), and whose `prune` logs and may fail. */
  function standIn(du: string | { fail: string }, pruneFails = false): string {
    const bin = mkdtempSync(join(dir, 'bin-'));
    if (typeof du === 'string') writeFileSync(join(bin, 'du'), du);
    else writeFileSync(join(bin, 'du.fail'), du.fail);
    writeFileSync(
      join(bin, 'buildctl'),
      [
        '#!/bin/sh',
        `bin='${bin}'`,
        'echo "$*" >> "$bin/calls"',
        'case "$3" in',
        '  du) if [ -f "$bin/du.fail" ]; then cat "$bin/du.fail" >&2; exit 1; fi; cat "$bin/du" ;;',
        `  prune) ${pruneFails ? 'echo "error: rpc error: code = Unavailable" >&2; exit 1' : 'echo "ID RECLAIMABLE SIZE"; echo "Total:	1.2GB"'} ;;`,
        'esac',
      ].join('\n'),
    );
    chmodSync(join(bin, 'buildctl'), 0o755);
    return bin;
  }

  function once(bin: string, threshold: number, keep = 40265) {
    const r = spawnSync('dash', [script, String(threshold), String(keep), '5'], {
      env: { PATH: `${bin}:${process.env.PATH}`, GUARD_ONCE: '1', GUARD_ADDR: 'unix:///tmp/guard-test.sock' },
      encoding: 'utf8',
    });
    const calls = existsSync(join(bin, 'calls')) ? readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n') : [];
    return { status: r.status, out: r.stdout.trim().split('\n'), err: r.stderr, calls };
  }

  test('reads the real v0.32.2 du output: prunes at its total, not one byte below', () => {
    expect(FIXTURE_BYTES).toBe(5_996_544);
    const at = once(standIn(readFileSync(DU_FIXTURE, 'utf8')), FIXTURE_BYTES);
    expect(at.status).toBe(0);
    expect(at.calls).toEqual([
      '--addr unix:///tmp/guard-test.sock du --format {{json .}}',
      '--addr unix:///tmp/guard-test.sock prune --keep-storage 40265',
    ]);
    expect(at.out).toContain(`cache-guard: usage ${FIXTURE_BYTES} bytes reached ${FIXTURE_BYTES}: pruning to 40265 MB`);
    expect(at.out).toContain('cache-guard: pruned; Total:\t1.2GB');
    const below = once(standIn(readFileSync(DU_FIXTURE, 'utf8')), FIXTURE_BYTES + 1);
    expect(below.calls).toEqual(['--addr unix:///tmp/guard-test.sock du --format {{json .}}']);
    expect(below.out).toHaveLength(1);
  });

  test('sums sizes past 32 bits (a 50Gi cache), and an escaped "size" inside a description does not count', () => {
    const records = [
      { size: 30_000_000_000, description: 'RUN echo "size":999999999999' },
      { size: 12_000_000_000, description: 'layer' },
    ];
    const du = JSON.stringify(records);
    expect(once(standIn(du), 42_000_000_000).calls).toHaveLength(2);
    expect(once(standIn(du), 42_000_000_001).calls).toHaveLength(1);
  });

  test('an empty cache (`null`) is zero: no prune, even at a threshold of 1', () => {
    expect(once(standIn('null'), 1).calls).toHaveLength(1);
    expect(once(standIn('[]'), 1).calls).toHaveLength(1);
    expect(once(standIn('[]'), 0).calls).toHaveLength(2);
  });

  test('a daemon that does not answer: one line saying so, no prune, and the guard keeps going', () => {
    const r = once(
      standIn({ fail: 'error: connection error: dial unix /run/buildkit/buildkitd.sock: connect: no such file or directory' }),
      1,
    );
    expect(r.status).toBe(0);
    expect(r.calls).toHaveLength(1);
    expect(r.out[1]).toBe(
      'cache-guard: daemon not answering on unix:///tmp/guard-test.sock: error: connection error: dial unix /run/buildkit/buildkitd.sock: connect: no such file or directory; retrying in 5 s',
    );
  });

  test('a reading that is not BuildKit’s JSON: named, and never taken for an empty cache', () => {
    const r = once(standIn('ID\tRECLAIMABLE\tSIZE\nabc\ttrue\t4.1kB'), 0);
    expect(r.calls).toHaveLength(1);
    expect(r.out[1]).toBe('cache-guard: unreadable usage from buildctl du: ID\tRECLAIMABLE\tSIZE');
  });

  test('a prune that fails is reported with its reason', () => {
    const r = once(standIn(readFileSync(DU_FIXTURE, 'utf8'), true), 1);
    expect(r.out[2]).toBe('cache-guard: prune failed: error: rpc error: code = Unavailable');
  });

  test.each([
    ['no arguments', []],
    ['a threshold with a unit', ['40Gi', '40265', '5']],
    ['a missing interval', ['1', '2']],
    ['a negative keep', ['1', '-2', '5']],
  ])('usage errors exit 2 before touching the daemon: %s', (_what, args) => {
    const bin = standIn('[]');
    const r = spawnSync('dash', [script, ...args], { env: { PATH: `${bin}:${process.env.PATH}`, GUARD_ONCE: '1' }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('cache-guard: usage: cache-guard.sh THRESHOLD_BYTES KEEP_MB INTERVAL_SECONDS');
    expect(existsSync(join(bin, 'calls'))).toBe(false);
  });

  test('asked to stop, it keeps guarding while the daemon drains, and exits once the daemon is gone', async () => {
    const bin = standIn('[]');
    const guard: ChildProcess = spawn('dash', [script, '1', '1', '1'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    let out = '';
    guard.stdout!.on('data', (d) => {
      out += d;
    });
    // 'close', not 'exit': only then has all of its output arrived.
    const exited = new Promise<number | null>((resolve) => guard.on('close', resolve));
    const calls = () => (existsSync(join(bin, 'calls')) ? readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n').length : 0);
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 600 && !condition(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(condition()).toBe(true);
    };
    try {
      await until(() => calls() >= 1);
      guard.kill('SIGTERM');
      const seen = calls();
      await until(() => calls() >= seen + 2); // still reading while the daemon answers
      copyFileSync(join(bin, 'du'), join(bin, 'du.fail')); // the daemon has stopped
      expect(await exited).toBe(0);
      expect(out).toContain('cache-guard: daemon stopped; exiting');
    } finally {
      guard.kill('SIGKILL');
    }
  }, 120_000);
});

describe('the guard container beside every daemon', () => {
  const HARDENED = { podSecurity: 'baseline' as const };
  const guardOf = (objects: any[], kind = 'Deployment', name = 'buildkitd') =>
    find(objects, kind, name).spec.template.spec.containers.find((c: any) => c.name === 'cache-guard');

  test('same pinned image, the GC threshold and the GC amount, over a unix socket on a shared in-memory volume', () => {
    const objects = synthChart({ cache: { size: '10Gi' } });
    const pod = find(objects, 'Deployment', 'buildkitd').spec.template.spec;
    const [daemon, guard] = pod.containers;
    expect(guard.image).toBe(daemon.image);
    // 10Gi less the quarter headroom: 7680 MiB, the toml's maxUsedSpace; kept: the same in buildctl's MB.
    expect(guard.command).toEqual(['sh', '/home/user/.config/buildkit/cache-guard.sh', String(7680 * 2 ** 20), '8053', '5']);
    expect(find(objects, 'ConfigMap', 'buildkitd-config').data['buildkitd.toml']).toContain('maxUsedSpace = "7680MiB"');
    expect(guard.env).toEqual([{ name: 'GUARD_ADDR', value: 'unix:///run/buildkit/buildkitd.sock' }]);
    expect(daemon.args.slice(0, 4)).toEqual([
      '--addr',
      'unix:///run/user/1000/buildkit/buildkitd.sock',
      '--addr',
      'unix:///run/buildkit/buildkitd.sock',
    ]);
    expect(pod.volumes).toContainEqual({ name: 'guard-socket', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    for (const c of [daemon, guard]) expect(c.volumeMounts).toContainEqual({ name: 'guard-socket', mountPath: '/run/buildkit' });
    expect(guard.volumeMounts.map((m: any) => m.name).sort()).toEqual(['config', 'guard-socket']);
    expect(guard.ports).toBeUndefined();
    expect(find(objects, 'ConfigMap', 'buildkitd-config').data['cache-guard.sh']).toBe(CACHE_GUARD_SCRIPT);
  });

  test('bounded resources, no capabilities, no escalation, a read-only root, the daemon’s profiles', () => {
    const guard = guardOf(synthChart({}));
    expect(guard.resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } });
    expect(guard.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'Unconfined' },
      appArmorProfile: { type: 'Unconfined' },
    });
    expect(guardOf(synthChart(HARDENED)).securityContext.seccompProfile).toEqual({
      type: 'Localhost',
      localhostProfile: 'operator/buildkit-rootless.json',
    });
  });

  test('hardened mode: the pod, guard included, passes every baseline rule field by field', () => {
    const template = find(synthChart(HARDENED), 'Deployment', 'buildkitd').spec.template;
    expect(template.spec.containers.map((c: any) => c.name)).toEqual(['buildkitd', 'cache-guard']);
    expect(baselineViolations(template)).toEqual([]);
  });

  test('in the StatefulSet and in native builders, each with its own cache size', () => {
    const objects = synthChart({
      workload: 'statefulset',
      replicas: 2,
      cache: { persistent: true, size: '100Gi' },
      architecture: 'amd64',
      nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.111' }],
    });
    expect(guardOf(objects, 'StatefulSet', 'buildkitd').command[2]).toBe(String(76_800 * 2 ** 20));
    expect(guardOf(objects, 'StatefulSet', 'buildkitd-arm64').command[2]).toBe(String(76_800 * 2 ** 20));
    const deployments = synthChart({
      architecture: 'amd64',
      nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.111' }],
    });
    expect(guardOf(deployments, 'Deployment', 'buildkitd-arm64').command[2]).toBe(String(38_400 * 2 ** 20));
  });

  test('off by a setting: no container, no socket, no script; the interval from 1 to 60 s', () => {
    const objects = synthChart({ cacheGuard: { enabled: false } });
    const pod = find(objects, 'Deployment', 'buildkitd').spec.template.spec;
    expect(pod.containers.map((c: any) => c.name)).toEqual(['buildkitd']);
    expect(pod.volumes.map((v: any) => v.name)).not.toContain('guard-socket');
    expect(pod.containers[0].args).not.toContain('unix:///run/buildkit/buildkitd.sock');
    expect(find(objects, 'ConfigMap', 'buildkitd-config').data['cache-guard.sh']).toBeUndefined();
    expect(guardOf(synthChart({ cacheGuard: { intervalSeconds: 1 } })).command[4]).toBe('1');
    expect(guardOf(synthChart({ cacheGuard: { intervalSeconds: 60 } })).command[4]).toBe('60');
    for (const bad of [0, 61, 2.5]) {
      expect(() => synthChart({ cacheGuard: { intervalSeconds: bad } })).toThrow(
        /^BuildkitDaemon: invalid cacheGuard\.intervalSeconds .*a minute is what the GC throttle already gives/,
      );
    }
    expect(() => synthChart({ cacheGuard: { enabled: 'no' as any } })).toThrow(/^BuildkitChart: invalid cacheGuard\.enabled "no"/);
  });
});
