import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseYamlDocuments } from '../yaml-file';
import { readText, refuseLinks, displayPath as rel } from './files';
import {
  IN_CLUSTER_CLIENT,
  IN_CLUSTER_SECRET,
  MANAGED_BY_LABEL,
  type PlainMetadata,
  paths,
  plainMetadata,
  SANS_ANNOTATION,
} from './layout';
import type { CertsPlan } from './plan';

/** The command that brings secrets/ in line with config.ts. */
export const SYNC_COMMAND = 'npm run certs -- sync';

/**
 * Whether secrets/ matches the plan, read from the files' plaintext metadata alone (no key needed: names,
 * namespaces and the SANs annotation are not encrypted, only MAC-covered). Returns the problems, one line
 * each, naming the file, what it holds, what config.ts says, and the fix. A folder without certificates
 * yet (a fresh clone) has nothing to disagree with.
 */
export function secretsProblems(root: string, plan: CertsPlan): string[] {
  refuseLinks(root);
  const p = paths(root);
  if (existsSync(p.journal)) {
    return [`${rel(p.journal)}: a certs command was killed mid-write: run \`npm run certs -- check\`, which completes the write`];
  }
  if (!existsSync(p.ca)) return [];
  const fix = `run \`${SYNC_COMMAND}\``;
  const problems: string[] = [];

  const seeded = existsSync(p.namespace)
    ? (parseYamlDocuments(readText(p.namespace, ''), rel(p.namespace)) as Array<{ metadata?: { name?: string } } | null>).map(
        (d) => d?.metadata?.name,
      )
    : [];
  const wanted = plan.namespaces.map((n) => n.name);
  if (seeded.join(',') !== wanted.join(',')) {
    problems.push(
      `${rel(p.namespace)}: ${seeded.length ? `creates namespace "${seeded.join('", "')}"` : 'is missing'}, config.ts says "${wanted.join('", "')}": ${fix}`,
    );
  }
  const expect = (path: string, name: string, namespace: string) => {
    if (!existsSync(path)) {
      problems.push(`${rel(path)}: is missing, config.ts names Secret "${name}" in "${namespace}": ${fix}`);
      return undefined;
    }
    const metadata = plainMetadata(path);
    if (metadata.name !== name || metadata.namespace !== namespace) {
      problems.push(
        `${rel(path)}: holds Secret "${metadata.name}" in "${metadata.namespace}", config.ts says "${name}" in "${namespace}": ${fix}`,
      );
    }
    return metadata;
  };
  for (const server of plan.servers) {
    const path = p.server(server.secretName);
    const metadata = expect(path, server.secretName, server.namespace);
    if (!metadata) continue;
    const covered = new Set(
      String(metadata.annotations?.[SANS_ANNOTATION] ?? '')
        .split(',')
        .filter(Boolean),
    );
    const missing = server.sans.filter((s) => !covered.has(s));
    if (missing.length > 0)
      problems.push(`${rel(path)}: the server certificate does not cover ${missing.join(', ')}, which config.ts serves: ${fix}`);
  }
  expect(p.client(IN_CLUSTER_CLIENT), IN_CLUSTER_SECRET, plan.clientNamespace);

  // A Secret left from an earlier name would still be applied by GitOps.
  const expected = new Set([...plan.servers.map((s) => p.server(s.secretName)), p.client(IN_CLUSTER_CLIENT), p.namespace]);
  for (const file of existsSync(p.apps) ? readdirSync(p.apps).sort() : []) {
    const path = join(p.apps, file);
    if (!file.endsWith('.yaml') || expected.has(path)) continue;
    const metadata = (parseYamlDocuments(readText(path, ''), rel(path)) as Array<{ metadata?: PlainMetadata } | null>)[0]?.metadata;
    if (metadata?.labels?.[MANAGED_BY_LABEL] === 'buildkit-service') {
      problems.push(`${rel(path)}: Secret "${metadata.name}" is not one config.ts uses, yet GitOps applies it: ${fix}`);
    }
  }
  return problems;
}
