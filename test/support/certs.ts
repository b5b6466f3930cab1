import { readFileSync, writeFileSync } from 'node:fs';
import { App } from 'cdk8s';
import { BuildkitChart, type BuildkitChartProps } from '../../lib';
import type { CertsContext } from '../../lib/certs/issuing';
import { paths } from '../../lib/certs/layout';
import { certsPlan } from '../../lib/certs/plan';
import { runCerts } from '../../lib/cli/certs';
import type { KeyPair } from '../../lib/pki/issue';
import { parseIdentities } from '../../lib/sops/age-keys';
import { decryptDocument, encryptDocument } from '../../lib/sops/sops-file';
import { keyPool } from './keys';

/** What the certificate commands serve for a BuildkitChart with these settings. */
export function chartPlan(settings: BuildkitChartProps = {}) {
  return certsPlan(new BuildkitChart(new App(), 'buildkit', settings));
}

/** A context for the certificate commands on `root`, serving a BuildkitChart with these settings. */
export function certsContext(
  root: string,
  settings: BuildkitChartProps,
  options: { log?: (l: string) => void; newKeyPair?: () => KeyPair; now?: Date } = {},
): CertsContext {
  return {
    root,
    plan: chartPlan(settings),
    now: options.now ?? new Date(),
    log: options.log ?? (() => {}),
    newKeyPair: options.newKeyPair,
  };
}

/**
 * runCerts with its keys from one pool of `size` (keyPool): for tests of the commands, where RSA keygen is most
 * of the time and not what is tested. Any `size` consecutive keys are distinct, so CAs made together never share one.
 */
export function runCertsWithPooledKeys(size?: number): typeof runCerts {
  const newKeyPair = keyPool(size);
  return (argv, compose, io, resynth) => runCerts(argv, compose, io, resynth, newKeyPair);
}

/** The age recipient of the key `certs init` wrote in `root`, read from its `# public key:` line. */
export function ownRecipient(root: string): string {
  return /public key: (age1\w+)/.exec(readFileSync(paths(root).ageKey, 'utf8'))![1];
}

/** Encrypts a document to the age key in `root`, as `sops` (or a team's own tooling) would write it there. */
export function encryptAsOwner(root: string, doc: object): Promise<string> {
  return encryptDocument(doc as any, { recipients: [ownRecipient(root)], encryptedRegex: '^(data|stringData)$', now: new Date() });
}

/** Changes an encrypted file in `root` as a hand edit with `sops edit` would. */
export async function editSops(root: string, path: string, edit: (doc: any) => void): Promise<void> {
  const doc = await decryptDocument(readFileSync(path, 'utf8'), parseIdentities(readFileSync(paths(root).ageKey, 'utf8')));
  edit(doc);
  writeFileSync(path, await encryptAsOwner(root, doc));
}
