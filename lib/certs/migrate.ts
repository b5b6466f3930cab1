import { existsSync, mkdirSync, renameSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { displayPath, refuseLinks } from './files';
import { CertsUsageError, paths } from './layout';

/** What a secrets/ folder of one CA holds: all of it moves into the tenant's folder. */
const SINGLE_LAYOUT = ['.sops.yaml', 'age', 'ca', 'apps', 'clients', 'public'];

/** Does this secrets/ folder hold certificates from before tenants (one CA at its top)? */
export const hasSingleLayout = (secretsRoot: string) => existsSync(paths(secretsRoot).ca);

/**
 * Moves a secrets/ folder of one CA (from before tenants) into `tenantRoot`, all or nothing: the CA, its
 * bundles, public copies, .sops.yaml and age key become that tenant's, unchanged. Returns what moved.
 */
export function migrateToTenant(secretsRoot: string, tenantRoot: string): string[] {
  refuseLinks(secretsRoot);
  if (!hasSingleLayout(secretsRoot)) {
    throw new CertsUsageError(`${displayPath(secretsRoot)} holds no certificates from before tenants (no ca/): nothing to migrate`);
  }
  if (existsSync(tenantRoot)) throw new CertsUsageError(`${displayPath(tenantRoot)} exists already: migrate into a tenant that has none`);
  const entries = SINGLE_LAYOUT.filter((e) => existsSync(join(secretsRoot, e)));
  // The first folder this makes (secrets/tenants/ for the first tenant): the rollback removes up to it.
  const created = mkdirSync(tenantRoot, { recursive: true }) ?? tenantRoot;
  const moved: string[] = [];
  try {
    for (const entry of entries) {
      renameSync(join(secretsRoot, entry), join(tenantRoot, entry));
      moved.push(entry);
    }
  } catch (err) {
    for (const entry of moved.reverse()) renameSync(join(tenantRoot, entry), join(secretsRoot, entry));
    for (let dir = tenantRoot; ; dir = dirname(dir)) {
      rmdirSync(dir);
      if (dir === created) break;
    }
    throw err;
  }
  return entries.map((e) => displayPath(join(tenantRoot, e)));
}
