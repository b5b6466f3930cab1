import { existsSync } from 'fs';
import { join } from 'path';
import { SEED } from '../settings';
import { readSopsFile } from '../sops/metadata';
import { checkDnsLabel } from '../validation';
import { readText } from './files';

/** The client whose Secret in-cluster CI jobs mount; its file sits with the daemon's in apps/. */
export const IN_CLUSTER_CLIENT = 'in-cluster';
export const IN_CLUSTER_SECRET = 'buildkit-client-certs';
/** Plaintext (MAC-covered) annotation on the daemon Secret: its certificate's SANs, readable without the key. */
export const SANS_ANNOTATION = 'buildkit-service/server-sans';
/** The label every Secret written here carries. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/**
 * secrets/ layout. Only apps/ is applied by GitOps; ca/ and clients/ are read by these commands alone.
 * The daemon's file is named after its Secret, so renaming the Secret renames the file.
 */
export function paths(root: string, daemonSecretName: string = SEED.certSecretName) {
  return {
    sopsConfig: join(root, '.sops.yaml'),
    ageKey: join(root, 'age', 'age-key.txt'),
    ca: join(root, 'ca', 'buildkit-ca.yaml'),
    apps: join(root, 'apps'),
    daemon: join(root, 'apps', `${daemonSecretName}.yaml`),
    namespace: join(root, 'apps', 'namespace.yaml'),
    clients: join(root, 'clients'),
    client: (name: string) => name === IN_CLUSTER_CLIENT
      ? join(root, 'apps', `${IN_CLUSTER_SECRET}.yaml`)
      : join(root, 'clients', `${checkDnsLabel('certs', 'client name', name)}.yaml`),
  };
}

/** The encrypted daemon Secret's MAC: changes exactly when the certificates do, reveals nothing. */
export function daemonCertsRevision(root: string, daemonSecretName?: string): string | undefined {
  const path = paths(root, daemonSecretName).daemon;
  return existsSync(path) ? readSopsFile(readText(path, '')).sops.mac : undefined;
}
