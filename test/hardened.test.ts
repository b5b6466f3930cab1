import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { BUILDKIT_SECCOMP_PROFILE } from '../lib/buildkit-seccomp-profile';
import { daemonContainer, find, synthChart } from './support/chart';
import { validateCustomResources } from './support/crd';
import { ROOT } from './support/dist';
import { baselineViolations } from './support/pod-security';

const HARDENED: BuildkitChartProps = { podSecurity: 'baseline' };
const template = (objects: any[], kind = 'Deployment', name = 'buildkitd') => find(objects, kind, name).spec.template;

describe('hardened mode: a namespace that enforces Pod Security baseline', () => {
  const objects = synthChart(HARDENED);

  test('the namespace enforces, audits and warns at baseline', () => {
    expect(find(objects, 'Namespace', 'buildkit').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/audit': 'baseline',
      'pod-security.kubernetes.io/warn': 'baseline',
    });
  });

  test('the daemon runs under the Localhost seccomp profile the operator installs, with no Unconfined anywhere', () => {
    const container = daemonContainer(objects);
    expect(container.securityContext.seccompProfile).toEqual({
      type: 'Localhost',
      localhostProfile: 'operator/buildkit-rootless.json',
    });
    expect(container.securityContext.appArmorProfile).toBeUndefined();
    expect(JSON.stringify(template(objects))).not.toContain('Unconfined');
    expect(container.args).toContain('--oci-worker-no-process-sandbox');
    const profile = find(objects, 'SeccompProfile', 'buildkit-rootless');
    expect(profile.spec).toEqual(BUILDKIT_SECCOMP_PROFILE);
    expect(validateCustomResources([profile])).toEqual([]);
    expect(validateCustomResources([{ ...profile, spec: { ...profile.spec, defaultAction: 'SCMP_ACT_NOTHING' } }])).toEqual([
      expect.stringContaining('defaultAction'),
    ]);
  });

  test('every baseline rule holds, field by field; the privileged default breaks exactly seccomp and AppArmor', () => {
    expect(baselineViolations(template(objects))).toEqual([]);
    expect(
      baselineViolations(template(synthChart({ ...HARDENED, workload: 'statefulset', replicas: 2, metrics: {} }), 'StatefulSet')),
    ).toEqual([]);
    expect(baselineViolations(template(synthChart({})))).toEqual([
      'container buildkitd: appArmorProfile Unconfined',
      'container buildkitd: seccompProfile Unconfined',
      'container cache-guard: appArmorProfile Unconfined',
      'container cache-guard: seccompProfile Unconfined',
    ]);
  });

  test('the rules catch what baseline forbids', () => {
    const pod = (spec: object, metadata: object = {}) =>
      baselineViolations({ metadata, spec: { containers: [{ name: 'c', securityContext: {} }], ...spec } });
    expect(pod({ hostNetwork: true, hostPID: true })).toEqual(['pod: hostNetwork', 'pod: hostPID']);
    expect(
      pod({
        containers: [
          {
            name: 'c',
            securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN', 'CHOWN'] }, procMount: 'Unmasked' },
            ports: [{ hostPort: 80 }],
          },
        ],
      }),
    ).toEqual([
      'container c: privileged',
      'container c: capability SYS_ADMIN',
      'container c: procMount Unmasked',
      'container c: hostPort 80',
    ]);
    expect(pod({ volumes: [{ name: 'h', hostPath: { path: '/' } }] })).toEqual(['volume h: hostPath']);
    expect(pod({}, { annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' } })).toEqual([
      'annotation container.apparmor.security.beta.kubernetes.io/c: unconfined',
    ]);
    expect(pod({ securityContext: { seLinuxOptions: { type: 'spc_t' }, sysctls: [{ name: 'kernel.msgmax', value: '1' }] } })).toEqual([
      'pod: seLinuxOptions.type spc_t',
      'pod: sysctl kernel.msgmax',
    ]);
  });

  test('capabilities: SETUID and SETGID only in both modes; runtimeDefaultCapabilities gives the runtime its default set back', () => {
    const only = { drop: ['ALL'], add: ['SETUID', 'SETGID'] };
    expect(daemonContainer(synthChart(HARDENED)).securityContext.capabilities).toEqual(only);
    expect(daemonContainer(synthChart({})).securityContext.capabilities).toEqual(only);
    const restored = daemonContainer(synthChart({ ...HARDENED, runtimeDefaultCapabilities: true })).securityContext;
    expect(restored.capabilities).toBeUndefined();
    expect(restored.seccompProfile.type).toBe('Localhost');
    expect(daemonContainer(synthChart({ runtimeDefaultCapabilities: false })).securityContext.capabilities).toEqual(only);
    expect(() => synthChart({ runtimeDefaultCapabilities: 'true' as any })).toThrow(
      /^BuildkitChart: invalid runtimeDefaultCapabilities "true"/,
    );
  });

  test("the operator's profile is cluster-wide: no namespace, named after the service's namespace, at operator/<name>.json", () => {
    const profile = find(objects, 'SeccompProfile', 'buildkit-rootless');
    expect(profile.metadata.namespace).toBeUndefined();
    const moved = synthChart({ ...HARDENED, namespace: 'team-builds' });
    expect(find(moved, 'SeccompProfile', 'team-builds-rootless').metadata.namespace).toBeUndefined();
    expect(daemonContainer(moved).securityContext.seccompProfile.localhostProfile).toBe('operator/team-builds-rootless.json');
    // Used on its own: the operator adds .json only to a name without it.
    const { Testing } = require('cdk8s');
    const { BuildkitSeccompProfile } = require('../lib/buildkit-seccomp-profile');
    expect(new BuildkitSeccompProfile(Testing.chart(), 'P', { name: 'bk.v1.json' }).localhostProfile).toBe('operator/bk.v1.json');
    expect(new BuildkitSeccompProfile(Testing.chart(), 'P', { name: 'bk.v1' }).localhostProfile).toBe('operator/bk.v1.json');
    expect(new BuildkitSeccompProfile(Testing.chart(), 'P').localhostProfile).toBe('operator/buildkit-rootless.json');
    expect(() => new BuildkitSeccompProfile(Testing.chart(), 'P', { nmae: 'x' } as never)).toThrow(
      /^BuildkitSeccompProfile: unknown setting "nmae": did you mean "name"\?$/,
    );
    expect(() => new BuildkitSeccompProfile(Testing.chart(), 'P', { name: 'Bk' })).toThrow(
      /^BuildkitSeccompProfile: invalid name "Bk": use a DNS name/,
    );
  });

  test('by hand instead of the operator, with an AppArmor profile: the paths the README gives', () => {
    const manual = synthChart({ ...HARDENED, seccompProfile: { install: 'node' }, appArmorProfile: 'buildkit-rootless' });
    expect(daemonContainer(manual).securityContext).toMatchObject({
      seccompProfile: { type: 'Localhost', localhostProfile: 'buildkit/buildkit-rootless.json' },
      appArmorProfile: { type: 'Localhost', localhostProfile: 'buildkit-rootless' },
    });
    expect(manual.filter((m) => m.kind === 'SeccompProfile')).toEqual([]);
    expect(baselineViolations(template(manual))).toEqual([]);
    expect(
      daemonContainer(synthChart({ ...HARDENED, seccompProfile: { localhostProfile: 'profiles/bk.json' } })).securityContext.seccompProfile
        .localhostProfile,
    ).toBe('profiles/bk.json');
  });

  test('dist/ is unchanged unless the setting is used', () => {
    expect(synthChart({ podSecurity: 'privileged' })).toEqual(synthChart({}));
  });
});

describe('combinations that cannot work are refused, one line each', () => {
  test.each([
    [
      'the legacy AppArmor annotation (unconfined)',
      { ...HARDENED, legacyAppArmorAnnotation: true },
      /^BuildkitDaemon: invalid legacyAppArmorAnnotation true: the annotation sets AppArmor unconfined, which baseline forbids; use appArmorProfile on Kubernetes 1\.30\+$/,
    ],
    [
      'SELinux spc_t',
      { ...HARDENED, seLinuxType: 'spc_t' },
      /^BuildkitDaemon: invalid seLinuxType "spc_t": baseline admits only the container_\* SELinux types; spc_t needs podSecurity 'privileged'$/,
    ],
    [
      'a non-rootless image',
      { ...HARDENED, image: 'moby/buildkit:v0.32.2' },
      /^BuildkitDaemon: invalid image "moby\/buildkit:v0\.32\.2": the daemon runs rootless BuildKit only/,
    ],
    [
      'an absolute seccomp path (the kubelet reads it below its own seccomp folder)',
      { ...HARDENED, seccompProfile: { localhostProfile: '/etc/x.json' } },
      /^BuildkitDaemon: invalid seccompLocalhostProfile "\/etc\/x\.json": use a descending path ending in \.json/,
    ],
    [
      'a seccomp path that does not end in .json',
      { ...HARDENED, seccompProfile: { localhostProfile: 'buildkit/x.json.bak' } },
      /^BuildkitDaemon: invalid seccompLocalhostProfile "buildkit\/x\.json\.bak": use a descending path ending in \.json/,
    ],
    [
      'a seccomp path that climbs out',
      { ...HARDENED, seccompProfile: { localhostProfile: '../etc/x.json' } },
      /^BuildkitDaemon: invalid seccompLocalhostProfile "\.\.\/etc\/x\.json": use a descending path ending in \.json/,
    ],
    [
      'an unknown install',
      { ...HARDENED, seccompProfile: { install: 'helm' as any } },
      /^BuildkitChart: invalid seccompProfile\.install "helm": use 'operator' or 'node'$/,
    ],
    [
      'an unknown level',
      { podSecurity: 'restricted' as any },
      /^BuildkitDaemon: invalid podSecurity "restricted": use 'privileged' or 'baseline'$/,
    ],
    [
      'hardened settings without hardened mode',
      { appArmorProfile: 'buildkit-rootless' },
      /^BuildkitChart: invalid appArmorProfile: it applies to podSecurity 'baseline' only/,
    ],
    [
      'an AppArmor profile name with a slash',
      { ...HARDENED, appArmorProfile: 'a/b' },
      /^BuildkitDaemon: invalid appArmorProfile "a\/b": use the name of a profile loaded on the nodes/,
    ],
  ] as Array<[string, BuildkitChartProps, RegExp]>)('%s', (_name, props, message) => {
    expect(() => synthChart(props)).toThrow(message);
  });
});

describe('the profiles that ship', () => {
  const reference = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/seccomp/buildkit-rootless-localhost-seccomp.json'), 'utf8'));
  const shipped = JSON.parse(readFileSync(join(ROOT, 'profiles/seccomp/buildkit-rootless.json'), 'utf8'));
  /** Each rule as one comparable line per syscall name. */
  const rules = (p: any) =>
    new Set(
      p.syscalls.flatMap((s: any) =>
        s.names.map((n: string) => JSON.stringify({ n, action: s.action, args: s.args ?? [], errno: s.errnoRet })),
      ),
    );

  test('the seccomp profile is flat OCI JSON: no moby includes or excludes, which containerd ignores', () => {
    expect(Object.keys(shipped).sort()).toEqual(['architectures', 'defaultAction', 'syscalls']);
    expect(JSON.stringify(shipped)).not.toMatch(/"(includes|excludes)"/);
    expect(shipped.defaultAction).toBe('SCMP_ACT_ERRNO');
  });

  /** The calls profiles/README.md lists as removed from the reference, read from its table. */
  const removed = () => {
    const readme = readFileSync(join(ROOT, 'profiles/README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| removed | why |'));
    return [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  };

  test('it allows what the verified reference allows, less the removals profiles/README.md lists, and nothing more', () => {
    expect(removed()).toEqual(['io_uring_setup', 'io_uring_enter', 'io_uring_register']);
    const gone = new Set(removed());
    const kept = [...rules(reference)].filter((r) => !gone.has(JSON.parse(r as string).n));
    const extra = [...rules(shipped)].filter((r) => !rules(reference).has(r));
    const missing = kept.filter((r) => !rules(shipped).has(r));
    expect({ extra, missing }).toEqual({ extra: [], missing: [] });
    for (const name of gone) expect([...rules(shipped)].filter((r) => JSON.parse(r as string).n === name)).toEqual([]);
    // The rules beyond the runtime default, each explained in profiles/README.md.
    const added = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/seccomp/added-rules.json'), 'utf8'));
    const readme = readFileSync(join(ROOT, 'profiles/README.md'), 'utf8');
    for (const name of added.flatMap((r: any) => r.names))
      expect({ name, explained: readme.includes(`\`${name}\``) }).toEqual({ name, explained: true });
  });

  test('the AppArmor profile is marked unverified and allows what rootless BuildKit needs', () => {
    const apparmor = readFileSync(join(ROOT, 'profiles/apparmor/buildkit-rootless'), 'utf8');
    expect(apparmor).toMatch(/NOT VERIFIED/);
    expect(apparmor).toMatch(/^profile buildkit-rootless /m);
    for (const rule of ['userns,', 'mount,', 'umount,', 'pivot_root,']) expect(apparmor).toContain(`  ${rule}`);
  });
});
