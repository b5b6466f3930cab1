import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { load } from 'js-yaml';
import { BuildkitChart } from '../buildkit-chart';
import { serverSans } from '../settings';
import { readSopsFile } from '../sops/metadata';
import { displayPath as rel, readText } from './files';
import { IN_CLUSTER_SECRET, MANAGED_BY_LABEL, paths, SANS_ANNOTATION } from './layout';

/** What secrets/ must hold for a chart, read from its construct tree. */
export interface SecretsPlan {
  /** The service's namespace, which apps/namespace.yaml seeds. */
  readonly namespace: string;
  /** The daemon's certificate Secret, in `namespace`. */
  readonly daemonSecret: string;
  /** Where the in-cluster client Secret goes. */
  readonly clientNamespace: string;
  /** Every name and address the server certificate must cover, as `DNS:name` and `IP:address`. */
  readonly sans: readonly string[];
}

export function secretsPlan(chart: BuildkitChart): SecretsPlan {
  const sans = serverSans(chart.endpoint);
  return {
    namespace: chart.endpoint.namespace,
    daemonSecret: chart.daemon.tls.secretName,
    clientNamespace: chart.clientNamespace,
    sans: [...sans.dnsNames.map((n) => `DNS:${n}`), ...sans.ips.map((ip) => `IP:${ip}`)],
  };
}

/** The command that brings secrets/ in line with config.ts. */
export const SYNC_COMMAND = 'npm run certs -- sync';

/**
 * Whether secrets/ matches the plan, read from the files' plaintext metadata alone (no key needed: names,
 * namespaces and the SANs annotation are not encrypted, only MAC-covered). Returns the problems, one line
 * each, naming the file, what it holds, what config.ts says, and the fix. A folder without certificates
 * yet (a fresh clone) has nothing to disagree with.
 */
export function secretsProblems(root: string, plan: SecretsPlan): string[] {
  const p = paths(root, plan.daemonSecret);
  if (!existsSync(p.ca)) return [];
  const fix = `run \`${SYNC_COMMAND}\``;
  const problems: string[] = [];

  const seeded = existsSync(p.namespace) ? (load(readText(p.namespace, '')) as any)?.metadata?.name : undefined;
  if (seeded !== plan.namespace) {
    problems.push(`${rel(p.namespace)}: ${seeded ? `creates namespace "${seeded}"` : 'is missing'}, config.ts says "${plan.namespace}": ${fix}`);
  }
  const expect = (path: string, name: string, namespace: string) => {
    if (!existsSync(path)) {
      problems.push(`${rel(path)}: is missing, config.ts names Secret "${name}" in "${namespace}": ${fix}`);
      return undefined;
    }
    const metadata = (readSopsFile(readText(path, '')).tree as any).metadata ?? {};
    if (metadata.name !== name || metadata.namespace !== namespace) {
      problems.push(`${rel(path)}: holds Secret "${metadata.name}" in "${metadata.namespace}", config.ts says "${name}" in "${namespace}": ${fix}`);
    }
    return metadata;
  };
  const daemon = expect(p.daemon, plan.daemonSecret, plan.namespace);
  if (daemon) {
    const covered = new Set(String(daemon.annotations?.[SANS_ANNOTATION] ?? '').split(',').filter(Boolean));
    const missing = plan.sans.filter((s) => !covered.has(s));
    if (missing.length > 0) {
      problems.push(`${rel(p.daemon)}: the server certificate does not cover ${missing.join(', ')}, which config.ts serves: ${fix}`);
    }
  }
  expect(p.client('in-cluster'), IN_CLUSTER_SECRET, plan.clientNamespace);

  // A Secret left from an earlier name would still be applied by GitOps.
  const expected = new Set([p.daemon, p.client('in-cluster'), p.namespace]);
  for (const file of existsSync(p.apps) ? readdirSync(p.apps).sort() : []) {
    const path = join(p.apps, file);
    if (!file.endsWith('.yaml') || expected.has(path)) continue;
    const metadata = (load(readText(path, '')) as any)?.metadata;
    if (metadata?.labels?.[MANAGED_BY_LABEL] === 'buildkit-service') {
      problems.push(`${rel(path)}: Secret "${metadata.name}" is not one config.ts uses, yet GitOps applies it: ${fix}`);
    }
  }
  return problems;
}
