import { isIPv4 } from 'node:net';
import type { Construct } from 'constructs';
import { KubeConfigMap, type Volume } from '../../imports/k8s';
import type { RenderedRegistry } from '../buildkitd-toml';
import { checkKnownKeys, type PropsShape } from '../props-shape';
import { checkDnsSubdomain } from '../validation';

/** How the daemon reaches one registry (BuildKit's `[registry."HOST"]`). */
export interface RegistrySettings {
  /**
   * Registries (host[:port]) to pull this one's images from first.
   * @default - none
   */
  readonly mirrors?: readonly string[];
  /**
   * Plain HTTP, for an in-cluster registry without TLS.
   * @default false
   */
  readonly http?: boolean;
  /**
   * TLS without verifying the certificate.
   * @default false
   */
  readonly insecure?: boolean;
  /**
   * File names in registryCaCertificates that verify this registry.
   * @default - the system's CAs
   */
  readonly ca?: readonly string[];
  /**
   * Client certificate and key file names in the registryKeypairSecret.
   * @default - none
   */
  readonly keypairs?: ReadonlyArray<{ readonly key: string; readonly cert: string }>;
}

export const REGISTRY_SHAPE: PropsShape<RegistrySettings> = {
  mirrors: 'strings',
  http: 'boolean',
  insecure: 'boolean',
  ca: 'strings',
  keypairs: [{ key: 'string', cert: 'string' }],
};
const REGISTRY_DIR = '/etc/buildkit-registry';
const HOST_PORT = /^(?=.{1,253}(:\d{1,5})?$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:\d{1,5})?$/;

/**
 * What makes `value` no registry host[:port] BuildKit can dial, or undefined: the shape, a port out of range,
 * or a dotted number that is no IPv4 address (a name's last label is never all digits).
 */
function hostPortProblem(value: string): string | undefined {
  if (!HOST_PORT.test(value)) return 'not a host[:port]';
  const [host, port] = value.split(':');
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) return `port ${port} is not from 1 to 65535`;
  if (/^\d+$/.test(host.split('.').at(-1)!) && !isIPv4(host)) return `${host} is neither an IPv4 address nor a host name`;
  return undefined;
}

/**
 * A file name in a mounted folder, as a ConfigMap or Secret key: no path (`../`, `/abs`), no hidden name. The
 * toml points BuildKit at `<folder>/<name>`, so anything else would reach outside the folder.
 */
function checkFileName(owner: string, where: string, name: unknown): string {
  if (typeof name !== 'string' || name.length > 253 || !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) {
    throw new Error(
      `${owner}: invalid ${where} ${JSON.stringify(name)}: use a plain file name such as ca.pem (letters, digits, ".", "_", "-"; no path)`,
    );
  }
  return name;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The registry CAs: each a file name, each value PEM certificates and nothing else (a key must never reach dist/). */
function checkRegistryCaCertificates(owner: string, certificates: Readonly<Record<string, string>>): void {
  for (const [name, pem] of Object.entries(certificates)) {
    checkFileName(owner, 'registryCaCertificates key', name);
    const blocks = [...pem.matchAll(PEM_BLOCK)].map((m) => m[1]);
    if (blocks.length === 0 || blocks.some((b) => b !== 'CERTIFICATE')) {
      throw new Error(
        `${owner}: invalid registryCaCertificates["${name}"]: ${blocks.length ? `it holds a ${blocks.find((b) => b !== 'CERTIFICATE')} block` : 'it holds no certificate'}; give only PEM CERTIFICATE blocks (never a key: dist/ is plain text)`,
      );
    }
  }
}

/** What the daemon is told about registries: per host, and the files its tables refer to. */
export interface RegistryInputs {
  readonly registries?: Readonly<Record<string, RegistrySettings>>;
  readonly registryCaCertificates?: Readonly<Record<string, string>>;
  readonly registryKeypairSecret?: string;
}

/**
 * The `[registry."HOST"]` tables, refusing unknown keys, hosts and mirrors that are not host[:port], and
 * files no source provides.
 */
export function renderRegistries(owner: string, props: RegistryInputs): Record<string, RenderedRegistry> {
  checkRegistryCaCertificates(owner, props.registryCaCertificates ?? {});
  const out: Record<string, RenderedRegistry> = {};
  for (const [host, settings] of Object.entries(props.registries ?? {})) {
    const where = `registries["${host}"]`;
    const hostProblem = hostPortProblem(host);
    if (hostProblem)
      throw new Error(
        `${owner}: invalid ${where}: ${hostProblem}; the key must be a registry host[:port], such as docker.io or registry.lan:5000`,
      );
    checkKnownKeys(owner, settings, REGISTRY_SHAPE, `${where}.`);
    for (const mirror of settings.mirrors ?? []) {
      const mirrorProblem = hostPortProblem(mirror);
      if (mirrorProblem)
        throw new Error(
          `${owner}: invalid ${where}.mirrors entry ${JSON.stringify(mirror)}: ${mirrorProblem}; use host[:port], such as mirror.lan:5000 (no scheme, no path)`,
        );
    }
    for (const file of settings.ca ?? []) {
      if (!Object.hasOwn(props.registryCaCertificates ?? {}, file)) {
        throw new Error(
          `${owner}: invalid ${where}.ca entry ${JSON.stringify(file)}: no such file in registryCaCertificates; add its PEM there under that name`,
        );
      }
    }
    if (settings.keypairs?.length && props.registryKeypairSecret === undefined) {
      throw new Error(`${owner}: invalid ${where}.keypairs: no registryKeypairSecret provides the files; name the Secret that holds them`);
    }
    for (const [i, keypair] of (settings.keypairs ?? []).entries()) {
      for (const part of ['key', 'cert'] as const) checkFileName(owner, `${where}.keypairs[${i}].${part}`, keypair[part]);
    }
    out[host] = {
      ...(settings.mirrors?.length ? { mirrors: settings.mirrors } : {}),
      ...(settings.http ? { http: true } : {}),
      ...(settings.insecure ? { insecure: true } : {}),
      ...(settings.ca?.length ? { ca: settings.ca.map((f) => `${REGISTRY_DIR}/ca/${f}`) } : {}),
      ...(settings.keypairs?.length
        ? { keypair: settings.keypairs.map((k) => ({ key: `${REGISTRY_DIR}/keys/${k.key}`, cert: `${REGISTRY_DIR}/keys/${k.cert}` })) }
        : {}),
    };
  }
  return out;
}

/** A read-only volume the registry tables' file paths point into. */
export interface RegistryVolume {
  readonly volume: Volume;
  readonly mountPath: string;
}

/**
 * The volumes behind the registry tables: the CA certificates as a ConfigMap of their own (created in
 * `scope`), the keypairs from the Secret the user names.
 */
export function registryVolumes(
  scope: Construct,
  owner: string,
  name: string,
  labels: Record<string, string>,
  props: RegistryInputs,
): RegistryVolume[] {
  const caCertificates = props.registryCaCertificates ?? {};
  const caConfigMap = Object.keys(caCertificates).length
    ? new KubeConfigMap(scope, 'RegistryCa', { metadata: { name: `${name}-registry-ca`, labels }, data: { ...caCertificates } })
    : undefined;
  return [
    ...(caConfigMap ? [{ volume: { name: 'registry-ca', configMap: { name: caConfigMap.name } }, mountPath: `${REGISTRY_DIR}/ca` }] : []),
    // A blank name is refused, not read as none: keypairs would name files no Secret provides.
    ...(props.registryKeypairSecret !== undefined
      ? [
          {
            volume: {
              name: 'registry-keys',
              secret: { secretName: checkDnsSubdomain(owner, 'registryKeypairSecret', props.registryKeypairSecret), defaultMode: 0o440 },
            },
            mountPath: `${REGISTRY_DIR}/keys`,
          },
        ]
      : []),
  ];
}
