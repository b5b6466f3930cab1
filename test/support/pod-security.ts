/**
 * The Pod Security Standards' "baseline" rules (kubernetes.io/docs/concepts/security/pod-security-standards,
 * as of Kubernetes 1.30), control by control, over a pod template. Returns one line per violation.
 */
const ALLOWED_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const ALLOWED_SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

export function baselineViolations(template: { metadata?: any; spec: any }): string[] {
  const spec = template.spec;
  const v: string[] = [];
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  const contexts: Array<[string, any]> = [
    ['pod', spec.securityContext ?? {}],
    ...containers.map((c: any): [string, any] => [`container ${c.name}`, c.securityContext ?? {}]),
  ];

  // HostProcess
  for (const [where, sc] of contexts) if (sc.windowsOptions?.hostProcess) v.push(`${where}: windowsOptions.hostProcess`);
  // Host namespaces
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[field]) v.push(`pod: ${field}`);
  // Privileged containers, capabilities, /proc mount type, host ports
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) v.push(`container ${c.name}: privileged`);
    for (const cap of sc.capabilities?.add ?? []) if (!ALLOWED_CAPABILITIES.has(cap)) v.push(`container ${c.name}: capability ${cap}`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') v.push(`container ${c.name}: procMount ${sc.procMount}`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`container ${c.name}: hostPort ${p.hostPort}`);
  }
  // HostPath volumes
  for (const vol of spec.volumes ?? []) if (vol.hostPath) v.push(`volume ${vol.name}: hostPath`);
  // AppArmor: annotations and fields
  for (const [key, value] of Object.entries<string>(template.metadata?.annotations ?? {})) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && value !== 'runtime/default' && !value.startsWith('localhost/'))
      v.push(`annotation ${key}: ${value}`);
  }
  for (const [where, sc] of contexts) {
    const type = sc.appArmorProfile?.type;
    if (type !== undefined && type !== 'RuntimeDefault' && type !== 'Localhost') v.push(`${where}: appArmorProfile ${type}`);
    // SELinux
    const se = sc.seLinuxOptions;
    if (se?.type !== undefined && !ALLOWED_SELINUX_TYPES.has(se.type)) v.push(`${where}: seLinuxOptions.type ${se.type}`);
    if (se?.user || se?.role) v.push(`${where}: seLinuxOptions user or role`);
    // Seccomp
    if (sc.seccompProfile?.type === 'Unconfined') v.push(`${where}: seccompProfile Unconfined`);
  }
  // Sysctls
  for (const s of spec.securityContext?.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`pod: sysctl ${s.name}`);
  return v;
}
