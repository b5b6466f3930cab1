import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readSopsFile } from '../sops/metadata';
import { isDnsLabel } from '../validation';
import { displayPath, readText } from './files';

/** The client whose Secret in-cluster CI jobs mount; its file sits with the daemons' in apps/. */
export const IN_CLUSTER_CLIENT = 'in-cluster';
export const IN_CLUSTER_SECRET = 'buildkit-client-certs';
/** The Secret Flux decrypts secrets/ with, in flux-system: `sops-age`, or a tenant's own `sops-age-<name>`. */
export const decryptionSecret = (tenant?: string) => (tenant ? `sops-age-${tenant}` : 'sops-age');
/** Plaintext (MAC-covered) annotation on a daemon Secret: its certificate's SANs, readable without the key. */
export const SANS_ANNOTATION = 'buildkit-service/server-sans';
/**
 * Plaintext (MAC-covered) annotation on every encrypted bundle: the SHA-256 of each certificate it publishes,
 * so that the keyless check can tell a stale or swapped public copy from the real one.
 */
export const FINGERPRINTS_ANNOTATION = 'buildkit-service/cert-sha256';

/** The annotation's value for a bundle: `file=sha256` for each published certificate, by file name. */
export function certificateFingerprints(data: Readonly<Record<string, string>>): string {
  return PUBLIC_COPIES.filter((f) => data[f] !== undefined)
    .map((f) => `${f}=${createHash('sha256').update(data[f]).digest('hex')}`)
    .join(',');
}

/** The public copies a bundle can have: its certificates, never its key. */
export const PUBLIC_COPIES = ['ca.pem', 'cert.pem', 'previous-ca.pem'];

/** The label every Secret written here carries. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** A mistake in what a certificate command was asked (exit code 2), as opposed to a state it found (exit code 1). */
export class CertsUsageError extends Error {}

/**
 * secrets/ layout. Only apps/ is applied by GitOps; ca/ and clients/ are read by these commands alone.
 * A daemon's file is named after its Secret, so renaming the Secret renames the file.
 */
export function paths(root: string) {
  return {
    sopsConfig: join(root, '.sops.yaml'),
    ageKey: join(root, 'age', 'age-key.txt'),
    ca: join(root, 'ca', 'buildkit-ca.yaml'),
    /** A multi-file write in progress: the next command completes it (git-ignored; see writeFiles). */
    journal: join(root, '.buildkit-journal'),
    apps: join(root, 'apps'),
    server: (secretName: string) => join(root, 'apps', `${secretName}.yaml`),
    namespace: join(root, 'apps', 'namespace.yaml'),
    clients: join(root, 'clients'),
    /** Public copies of the certificates (never keys), for checks without the age key; nothing applies them. */
    public: join(root, 'public'),
    /** The folder holding the public copies of one encrypted bundle: public/<its path without .yaml>/. */
    publicOf: (bundlePath: string) => join(root, 'public', relative(root, bundlePath).replace(/\.yaml$/, '')),
    client: (name: string) => {
      if (name === IN_CLUSTER_CLIENT) return join(root, 'apps', `${IN_CLUSTER_SECRET}.yaml`);
      if (!isDnsLabel(name))
        throw new CertsUsageError(`invalid client name ${JSON.stringify(name)}: use a DNS label, lowercase letters, digits and "-"`);
      return join(root, 'clients', `${name}.yaml`);
    },
  };
}

/** What an encrypted Secret's metadata says in plaintext (sops leaves it unencrypted). */
export interface PlainMetadata {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** The name, namespace, labels and annotations of an encrypted Secret, read without the key. */
export function plainMetadata(path: string): PlainMetadata {
  return (readSopsFile(readText(path, ''), displayPath(path)).tree as { metadata?: PlainMetadata }).metadata ?? {};
}

/** The name and namespace every Secret file this tool writes has; a hand-edited file without them is named. */
export function secretPlace(path: string): { name: string; namespace: string } {
  const { name, namespace } = plainMetadata(path);
  if (!name || !namespace) throw new Error(`${displayPath(path)} has no metadata.name or metadata.namespace: restore it from git`);
  return { name, namespace };
}

/** An encrypted daemon Secret's MAC: changes exactly when its certificates do, reveals nothing. */
export function daemonCertsRevision(root: string, secretName: string): string | undefined {
  const path = paths(root).server(secretName);
  return existsSync(path) ? readSopsFile(readText(path, ''), displayPath(path)).sops.mac : undefined;
}
