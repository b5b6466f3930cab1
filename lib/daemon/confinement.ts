/** The Pod Security level the daemon's namespace can enforce. */
export type PodSecurityLevel = 'privileged' | 'baseline';

/** The settings that choose the container's seccomp, AppArmor and SELinux confinement. */
export interface ConfinementSettings {
  readonly seLinuxType?: string;
  readonly seccompLocalhostProfile?: string;
  readonly appArmorProfile?: string;
  readonly runtimeDefaultCapabilities?: boolean;
}

/** newuidmap and newgidmap write the user namespace's maps: the only capabilities rootless BuildKit uses. */
const CAPABILITIES = { drop: ['ALL'], add: ['SETUID', 'SETGID'] };

/**
 * Capabilities (SETUID and SETGID only, unless the runtime's default set is asked for), then
 * seccomp, AppArmor and SELinux: Unconfined (and an SELinux type, if given) for 'privileged'; for
 * 'baseline', the Localhost seccomp profile and AppArmor unset or Localhost, refusing what baseline
 * forbids or what cannot work under it.
 */
export function containerConfinement(owner: string, level: PodSecurityLevel, props: ConfinementSettings, legacyAppArmor: boolean) {
  if (props.seLinuxType !== undefined && !/^[a-z][a-z0-9_]*_t$/.test(props.seLinuxType)) {
    throw new Error(`${owner}: invalid seLinuxType ${JSON.stringify(props.seLinuxType)}: use an SELinux type such as spc_t`);
  }
  const capabilities = props.runtimeDefaultCapabilities ? {} : { capabilities: CAPABILITIES };
  if (level === 'privileged') {
    for (const prop of ['seccompLocalhostProfile', 'appArmorProfile'] as const) {
      if (props[prop] !== undefined)
        throw new Error(
          `${owner}: invalid ${prop} ${JSON.stringify(props[prop])}: it applies to podSecurity 'baseline' only; set podSecurity: 'baseline' or drop it`,
        );
    }
    return {
      ...capabilities,
      seccompProfile: { type: 'Unconfined' },
      ...(legacyAppArmor ? {} : { appArmorProfile: { type: 'Unconfined' } }),
      ...(props.seLinuxType ? { seLinuxOptions: { type: props.seLinuxType } } : {}),
    };
  }
  if (level !== 'baseline') throw new Error(`${owner}: invalid podSecurity ${JSON.stringify(level)}: use 'privileged' or 'baseline'`);
  if (legacyAppArmor) {
    throw new Error(
      `${owner}: invalid legacyAppArmorAnnotation true: the annotation sets AppArmor unconfined, which baseline forbids; use appArmorProfile on Kubernetes 1.30+`,
    );
  }
  if (props.seLinuxType !== undefined) {
    throw new Error(
      `${owner}: invalid seLinuxType ${JSON.stringify(props.seLinuxType)}: baseline admits only the container_* SELinux types; spc_t needs podSecurity 'privileged'`,
    );
  }
  const localhostProfile = props.seccompLocalhostProfile ?? 'buildkit/buildkit-rootless.json';
  if (!/^[\w.-]+(\/[\w.-]+)*\.json$/.test(localhostProfile) || localhostProfile.split('/').includes('..')) {
    throw new Error(
      `${owner}: invalid seccompLocalhostProfile ${JSON.stringify(localhostProfile)}: use a descending path ending in .json, such as buildkit/buildkit-rootless.json`,
    );
  }
  if (props.appArmorProfile !== undefined && !/^[\w.-]+$/.test(props.appArmorProfile)) {
    throw new Error(
      `${owner}: invalid appArmorProfile ${JSON.stringify(props.appArmorProfile)}: use the name of a profile loaded on the nodes, such as buildkit-rootless`,
    );
  }
  return {
    ...capabilities,
    seccompProfile: { type: 'Localhost', localhostProfile },
    ...(props.appArmorProfile ? { appArmorProfile: { type: 'Localhost', localhostProfile: props.appArmorProfile } } : {}),
  };
}
