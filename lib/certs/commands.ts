import { existsSync, rmSync } from 'node:fs';
import { certificateSans } from '../pki/check';
import type { CertifiedKey } from '../pki/issue';
import { newIdentityFile, recipientOf } from '../sops/age-keys';
import { recipientsOf } from '../sops/metadata';
import { isDnsLabel } from '../validation';
import { type FileWrite, readText } from './files';
import {
  type CaState,
  type CertsContext,
  clientCertificate,
  DEFAULT_DAYS,
  newCa,
  serverCertificate,
  trustBundle,
  type Validity,
} from './issuing';
import { CertsUsageError, decryptionSecret, IN_CLUSTER_CLIENT, plainMetadata, SANS_ANNOTATION, secretPlace } from './layout';
import { checkRecipients, restoreHint, SERVER_HINT, SecretsStore } from './secrets-store';

// The commands that create and keep secrets/: init, issue-client, recipients and sync. The CA rotation,
// export and check live beside this file; issuing.ts holds what they share.

export interface InitOptions extends Validity {
  /** More age recipients for .sops.yaml, such as a teammate's or the cluster's. */
  readonly extraRecipients?: readonly string[];
}

/**
 * Creates what is missing: the age identity, .sops.yaml, then the CA, a server certificate per daemon
 * Secret and the in-cluster client. A repository whose files the identity cannot open is refused: a new
 * key would only lock them away for good.
 */
export async function init(ctx: CertsContext, options: InitOptions = {}): Promise<void> {
  checkRecipients(options.extraRecipients ?? []); // before the age key is written: a refused init writes nothing
  const store = new SecretsStore(ctx);
  const { p } = store;
  const initialized = existsSync(p.ca);
  if (!existsSync(p.ageKey)) {
    if (initialized) {
      const to = recipientsOf(readText(p.ca, '')).join(', ');
      throw new Error(
        `${store.rel(p.ageKey)} is missing, and ${store.rel(ctx.root)}/ is encrypted to ${to}: a new key could not open it; restore that identity ${restoreHint(ctx.tenant)} > ${store.rel(p.ageKey)}`,
      );
    }
    const { text } = await newIdentityFile(ctx.now);
    store.commit([{ path: p.ageKey, content: text, mode: 0o600 }]);
    ctx.log('  keep it safe: it is git-ignored, and Flux needs a copy (README, "Flux and the age key"):');
    ctx.log(`  kubectl -n flux-system create secret generic ${decryptionSecret(ctx.tenant)} --from-file=age.agekey=${store.rel(p.ageKey)}`);
  } else {
    ctx.log(`kept ${store.rel(p.ageKey)}`);
  }
  if (initialized) await store.readCa(); // names the file and its recipients when this identity cannot open it
  const own = await Promise.all(store.identities().map(recipientOf));
  const existing = existsSync(p.sopsConfig) ? store.recipients() : [];
  const recipients = [...new Set([...existing, ...own, ...(options.extraRecipients ?? [])])];
  if (initialized && recipients.length !== existing.length) {
    throw new CertsUsageError(
      'secrets/ exists: add recipients with `npm run certs -- recipients add age1...`, which re-encrypts every file',
    );
  }
  store.commit([store.sopsConfig(recipients), store.namespaceFile()]);

  if (initialized) {
    ctx.log(`kept ${store.rel(p.ca)}: certificates exist (rotate, sync or issue-client change them)`);
    return;
  }
  const days = {
    caDays: options.caDays ?? DEFAULT_DAYS.ca,
    serverDays: options.serverDays ?? DEFAULT_DAYS.server,
    clientDays: options.clientDays ?? DEFAULT_DAYS.client,
  };
  const state: CaState = { ca: newCa(ctx, 1, days.caDays) };
  const servers = await Promise.all(
    ctx.plan.servers.map((s) => store.serverFile(s, trustBundle(state), serverCertificate(ctx, s, state.ca, days.serverDays))),
  );
  store.commit([
    await store.caFile(state),
    ...servers,
    await store.clientFile(
      IN_CLUSTER_CLIENT,
      ctx.plan.clientNamespace,
      trustBundle(state),
      clientCertificate(ctx, state.ca, IN_CLUSTER_CLIENT, days.clientDays),
    ),
  ]);
}

export interface IssueClientOptions {
  /** Replace an existing client certificate. */
  readonly renew?: boolean;
  /** @default 365 */
  readonly days?: number;
  /**
   * Namespace of the client's Secret.
   * @default - the first daemon's namespace
   */
  readonly namespace?: string;
}

/** A new client certificate, signed by the current CA, in secrets/clients/NAME.yaml. */
export async function issueClient(ctx: CertsContext, name: string, options: IssueClientOptions = {}): Promise<void> {
  const store = new SecretsStore(ctx);
  const path = store.p.client(name);
  if (existsSync(path) && !options.renew) throw new Error(`client ${name} exists (${store.rel(path)}): pass --renew to re-issue it`);
  const state = await store.readCa();
  const client = clientCertificate(ctx, state.ca, name, options.days ?? DEFAULT_DAYS.client);
  const namespace = options.namespace ?? ctx.plan.servers[0].namespace;
  // The Secret may be applied as it is: a namespace that is no DNS label would fail the whole Kustomization.
  if (!isDnsLabel(namespace))
    throw new CertsUsageError(`invalid --namespace ${JSON.stringify(namespace)}: use a DNS label, lowercase letters, digits and "-"`);
  store.commit([await store.clientFile(name, namespace, trustBundle(state), client)]);
}

/** `recipients add|remove AGE`: .sops.yaml and every sops file, re-encrypted to the new set, all or nothing. */
export async function changeRecipients(ctx: CertsContext, change: 'add' | 'remove', recipient: string): Promise<void> {
  const store = new SecretsStore(ctx);
  checkRecipients([recipient]);
  const current = store.recipients();
  const next = change === 'add' ? [...new Set([...current, recipient])] : current.filter((r) => r !== recipient);
  if (next.length === current.length) {
    ctx.log(`.sops.yaml already ${change === 'add' ? 'names' : 'does not name'} ${recipient}: nothing to do`);
    return;
  }
  if (next.length === 0) throw new CertsUsageError('that is the last recipient: nobody could decrypt secrets/ afterwards');
  const own = await Promise.all(store.identities().map(recipientOf));
  if (!next.some((r) => own.includes(r)))
    ctx.log(`note: ${store.rel(store.p.ageKey)} cannot decrypt secrets/ after this; keep a key of the new set`);
  const files: FileWrite[] = [store.sopsConfig(next)];
  for (const path of store.sopsFiles()) files.push({ path, content: await store.encrypt(await store.readDocument(path, ''), next) });
  store.commit(files);
}

export interface SyncOptions {
  /** @default 365 */
  readonly serverDays?: number;
}

/**
 * `sync`: brings secrets/ in line with the app after a change of namespace, names, IPs or ports: every
 * Secret's name and namespace (a daemon's file follows its Secret's name), apps/namespace.yaml, and a new
 * server certificate, from the same CA, only when the current one does not cover what the app serves.
 * Client bundles in the service's old namespace move with it; files already in line are not rewritten.
 */
export async function sync(ctx: CertsContext, options: SyncOptions = {}): Promise<void> {
  const store = new SecretsStore(ctx);
  const { p } = store;
  const state = await store.readCa();
  const moved = (path: string, name: string, namespace: string) => {
    const m = plainMetadata(path);
    return m.name !== name || m.namespace !== namespace;
  };
  const files = [store.namespaceFile()];
  const caData = await store.read(p.ca, '');
  if (moved(p.ca, 'buildkit-ca', ctx.plan.servers[0].namespace) || !store.fingerprinted(p.ca, caData))
    files.push(await store.caFile(state));
  const removed: string[] = [];
  const oldNamespaces = new Set<string>();
  for (const server of ctx.plan.servers) {
    const previousPath = store.findServerFile(server);
    const before = plainMetadata(previousPath);
    oldNamespaces.add(secretPlace(previousPath).namespace);
    const data = await store.read(previousPath, SERVER_HINT);
    let cert: CertifiedKey = { certPem: data['cert.pem'], keyPem: data['key.pem'] };
    const covered = new Set(certificateSans(cert.certPem));
    const missing = server.sans.filter((s) => !covered.has(s));
    if (missing.length > 0) {
      if (state.previousCaPem) {
        throw new Error(
          `the server certificate of ${server.secretName} misses ${missing.join(', ')}, but a CA rotation is under way and clients ` +
            'not yet renewed trust only the old CA: finish it (`npm run certs -- issue-client NAME --renew` for each client, then `npm run certs -- rotate --finish-ca`), then run `npm run certs -- sync`',
        );
      }
      cert = serverCertificate(ctx, server, state.ca, options.serverDays ?? DEFAULT_DAYS.server);
      ctx.log(`new server certificate for ${server.secretName}: the old one missed ${missing.join(', ')}`);
    }
    const annotated = before.annotations?.[SANS_ANNOTATION] === certificateSans(cert.certPem).join(',');
    if (
      previousPath !== p.server(server.secretName) ||
      moved(previousPath, server.secretName, server.namespace) ||
      !annotated ||
      !store.fingerprinted(previousPath, data) ||
      missing.length > 0
    ) {
      files.push(await store.serverFile(server, data['ca.pem'], cert));
    }
    if (previousPath !== p.server(server.secretName)) removed.push(previousPath);
  }
  for (const name of [IN_CLUSTER_CLIENT, ...store.clientNames()]) {
    const path = p.client(name);
    if (!existsSync(path)) continue;
    const current = secretPlace(path);
    // A bundle issued into a daemon's old namespace follows the first daemon; one given another namespace keeps it.
    const target =
      name === IN_CLUSTER_CLIENT
        ? ctx.plan.clientNamespace
        : oldNamespaces.has(current.namespace)
          ? ctx.plan.servers[0].namespace
          : current.namespace;
    const data = await store.read(path, '');
    if (!moved(path, current.name, target) && store.fingerprinted(path, data)) continue;
    files.push(await store.clientFile(name, target, data['ca.pem'], { certPem: data['cert.pem'], keyPem: data['key.pem'] }));
  }
  // Public copies of every bundle, rewritten from the encrypted ones: what `check` without the key reads.
  const rewritten = new Set(files.map((f) => f.path));
  for (const path of store.sopsFiles()) {
    if (!rewritten.has(path)) store.publish(path, await store.read(path, ''));
  }
  store.commit(files);
  for (const path of removed) {
    rmSync(path);
    store.unpublish(path);
    ctx.log(`removed ${store.rel(path)}: its Secret has a new name`);
  }
}
