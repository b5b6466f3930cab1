import { existsSync } from 'fs';
import { join } from 'path';
import { SEED } from '../settings';
import { readSopsFile } from '../sops/metadata';
import { checkDnsLabel } from '../validation';
import { readText } from './files';

/** The client whose Secret in-cluster CI jobs mount; its file sits with the daemon's in apps/. */
export const IN_CLUSTER_CLIENT = 'in-cluster';

/** secrets/ layout. Only apps/ is applied by GitOps; ca/ and clients/ are read by these commands alone. */
export function paths(root: string) {
  return {
    sopsConfig: join(root, '.sops.yaml'),
    ageKey: join(root, 'age', 'age-key.txt'),
    ca: join(root, 'ca', 'buildkit-ca.yaml'),
    daemon: join(root, 'apps', `${SEED.certSecretName}.yaml`),
    namespace: join(root, 'apps', 'namespace.yaml'),
    client: (name: string) => name === IN_CLUSTER_CLIENT
      ? join(root, 'apps', 'buildkit-client-certs.yaml')
      : join(root, 'clients', `${checkDnsLabel('certs', 'client name', name)}.yaml`),
  };
}

/** The encrypted daemon Secret's MAC: changes exactly when the certificates do, reveals nothing. */
export function daemonCertsRevision(root: string): string | undefined {
  const path = paths(root).daemon;
  return existsSync(path) ? readSopsFile(readText(path, '')).sops.mac : undefined;
}
