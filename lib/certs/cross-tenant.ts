import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { splitPemBundle } from '../pki/check';
import { paths } from './layout';

/** Each certificate in the files of a folder (recursively) whose names end so, by SHA-256 fingerprint. */
function certificatesIn(dir: string, ending: string): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(dir)) return found;
  for (const file of readdirSync(dir, { recursive: true }).map(String).sort()) {
    if (!file.endsWith(ending)) continue;
    for (const pem of splitPemBundle(readFileSync(join(dir, file), 'utf8'))) {
      found.set(new X509Certificate(pem).fingerprint256, join(dir, file));
    }
  }
  return found;
}

/**
 * Isolation between tenants, from the public copies (no key needed): no two tenants share a CA, and no
 * bundle of one tenant trusts another tenant's CA, since BuildKit accepts any client that chains to a CA
 * its bundle trusts. One line per problem.
 */
export function crossTenantProblems(roots: ReadonlyMap<string, string>): string[] {
  const own = new Map([...roots].map(([tenant, root]) => [tenant, certificatesIn(join(paths(root).public, 'ca'), '.pem')]));
  const problems: string[] = [];
  for (const [tenant, root] of roots) {
    const trusted = new Map([
      ...certificatesIn(join(paths(root).public, 'apps'), 'ca.pem'),
      ...certificatesIn(join(paths(root).public, 'clients'), 'ca.pem'),
    ]);
    // A tenant's own CAs take the shared branch too; a share is named only between two tenants.
    for (const [other, cas] of own) {
      for (const [fingerprint, file] of cas) {
        if (own.get(tenant)!.has(fingerprint)) {
          if (other < tenant)
            problems.push(
              `tenants ${other} and ${tenant} share a CA (${relative(roots.get(other)!, file)}): run \`npm run certs -- rotate --ca --tenant ${tenant}\``,
            );
          continue;
        }
        const where = trusted.get(fingerprint);
        if (where) {
          problems.push(
            `tenant ${tenant}: ${where} trusts tenant ${other}'s CA, so ${other}'s clients would be accepted: run \`npm run certs -- rotate --ca --tenant ${tenant}\``,
          );
        }
      }
    }
  }
  return problems;
}
