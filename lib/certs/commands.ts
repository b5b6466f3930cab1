import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'fs';
import { spawnSync } from 'child_process';
import { dirname, join, resolve } from 'path';
import { X509Certificate } from 'crypto';
import { dump, load } from 'js-yaml';
import { certificateSans, checkCertificate, CertificateReport, splitPemBundle } from '../pki/check';
import { CertifiedKey, createCa, issueClientCertificate, issueServerCertificate, KeyPair } from '../pki/issue';
import { newIdentityFile, parseIdentities, recipientOf } from '../sops/age-keys';
import { recipientsOf } from '../sops/metadata';
import { decryptDocument, encryptDocument } from '../sops/sops-file';
import { isDnsLabel } from '../validation';
import { displayPath, FileWrite, readText, writeFiles } from './files';
import { CertsUsageError, IN_CLUSTER_CLIENT, IN_CLUSTER_SECRET, MANAGED_BY_LABEL, paths, plainMetadata, SANS_ANNOTATION } from './layout';
import { endpointScript } from '../endpoint-chooser';
import { CertsPlan, ClientEndpoint, ServerPlan } from './plan';

/** What every certificate command needs: where secrets/ is, what the app serves, and the time. */
export interface CertsContext {
  /** The secrets/ folder. */
  readonly root: string;
  /** Every daemon Secret and what it must cover, from the construct tree (certsPlan). */
  readonly plan: CertsPlan;
  readonly now: Date;
  /**
   * Key pairs for new certificates.
   * @default - a new RSA 2048 key pair each
   */
  readonly newKeyPair?: () => KeyPair;
  /** Prints one line of progress. */
  readonly log: (line: string) => void;
}

export { CertsUsageError };

export interface Validity {
  /** @default 3650 */
  readonly caDays?: number;
  /** @default 365 */
  readonly serverDays?: number;
  /** @default 365 */
  readonly clientDays?: number;
}

const ENCRYPTED_REGEX = '^(data|stringData)$';
const RESTORE_HINT = 'from your backup, or from the cluster: kubectl -n flux-system get secret sops-age -o jsonpath=\'{.data.age\\.agekey}\' | base64 -d';
const SERVER_HINT = 'run `npm run certs -- sync` if the app names another Secret than before, else `npm run certs -- init`';
/** Validity in days: a long-lived CA that stays in git encrypted, short-lived certificates that rotate. */
const DEFAULT_DAYS = { ca: 3650, server: 365, client: 365 };
const CA_NAME = 'buildkit-service CA';
const AGE_RECIPIENT = /^age1[0-9a-z]{58}$/;

function checkRecipients(recipients: readonly string[]): void {
  for (const r of recipients) if (!AGE_RECIPIENT.test(r)) throw new CertsUsageError(`invalid age recipient ${JSON.stringify(r)}: use an age1... public key`);
}

interface CaState { ca: CertifiedKey; previousCaPem?: string }
type Bundle = Record<string, string>;

/** Each CA generation has its own subject, so a chain says which CA a certificate belongs to. */
export function caGeneration(caPem: string): number {
  return Number(/CN=buildkit-service CA (\d+)/.exec(new X509Certificate(caPem).subject)?.[1] ?? 1);
}

function caLabel(caPem: string, state: CaState): string {
  const generation = `CA ${caGeneration(caPem)}`;
  return caPem.trim() === state.ca.certPem.trim() ? `${generation} (current)` : `${generation} (retiring)`;
}

function secret(name: string, namespace: string, stringData: Bundle, labels: Record<string, string> = {}, annotations?: Record<string, string>) {
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: 'buildkit-service', ...labels }, ...(annotations ? { annotations } : {}) },
    type: 'Opaque', stringData,
  };
}

/**
 * The namespaces the Secrets go into, for GitOps tools that apply secrets/apps before dist/ (Flux's
 * Kustomization for dist/ depends on the Secrets). Flux creates them only when missing and never prunes
 * them: dist/ owns the service's namespace and its labels, the CI runners' namespace belongs to its team.
 */
function namespaceSeed(plan: CertsPlan): string {
  return plan.namespaces.map(({ name, labels }) => dump({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
      ...(labels ? { labels } : {}),
    },
  })).join('---\n');
}

class SecretsStore {
  readonly p: ReturnType<typeof paths>;
  constructor(private readonly ctx: CertsContext) { this.p = paths(ctx.root); }

  rel(path: string): string { return displayPath(path); }

  identities(): string[] {
    const ids = parseIdentities(readText(this.p.ageKey, `restore the age identity .sops.yaml names (${RESTORE_HINT}), or run \`npm run certs -- init\` in a new repository`));
    if (ids.length === 0) throw new Error(`${this.rel(this.p.ageKey)} holds no age identity`);
    return ids;
  }

  recipients(): string[] {
    const text = readText(this.p.sopsConfig, 'run `npm run certs -- init`');
    let config: any;
    try {
      config = load(text);
    } catch (err) {
      throw new Error(`${this.rel(this.p.sopsConfig)}: ${(err as Error).message}`); // an empty file, or broken YAML
    }
    const age = config?.creation_rules?.[0]?.age;
    const list = (Array.isArray(age) ? age : String(age ?? '').split(',')).map((r: string) => r.trim()).filter(Boolean);
    if (list.length === 0) throw new Error(`${this.rel(this.p.sopsConfig)} names no age recipients`);
    return list;
  }

  sopsConfig(recipients: readonly string[]): FileWrite {
    checkRecipients(recipients);
    return { path: this.p.sopsConfig, content: dump({ creation_rules: [{ path_regex: '\\.yaml$', encrypted_regex: ENCRYPTED_REGEX, age: recipients.join(',') }] }) };
  }

  async readDocument(path: string, hint: string): Promise<any> {
    return decryptDocument(readText(path, hint), this.identities()).catch((err: Error) => {
      throw new Error(`${this.rel(path)}: ${err.message}`);
    });
  }

  async read(path: string, hint: string): Promise<Bundle> {
    return (await this.readDocument(path, hint)).stringData as Bundle;
  }

  async encrypt(doc: object, recipients = this.recipients()): Promise<string> {
    return encryptDocument(doc as any, { recipients, encryptedRegex: ENCRYPTED_REGEX, now: this.ctx.now });
  }

  async readCa(): Promise<CaState> {
    const data = await this.read(this.p.ca, 'run `npm run certs -- init`');
    return { ca: { certPem: data['ca.pem'], keyPem: data['ca.key'] }, previousCaPem: data['previous-ca.pem'] };
  }

  private readonly publicWrites: FileWrite[] = [];
  private readonly publicRemovals: string[] = [];

  /**
   * An encrypted bundle, and the public copies of its certificates (every .pem but the key) queued beside
   * it in public/, so that CI checks expiry, names and chains without the key.
   */
  async bundleFile(path: string, doc: { stringData: Bundle }): Promise<FileWrite> {
    this.publish(path, doc.stringData);
    return { path, content: await this.encrypt(doc) };
  }

  /** Queues the public copies of a bundle's certificates, and the removal of copies it no longer holds. */
  publish(path: string, data: Bundle): void {
    const dir = this.p.publicOf(path);
    const certs = Object.keys(data).filter((k) => k.endsWith('.pem') && k !== 'key.pem');
    for (const key of certs) this.publicWrites.push({ path: join(dir, key), content: data[key] });
    if (existsSync(dir)) for (const f of readdirSync(dir)) if (!certs.includes(f)) this.publicRemovals.push(join(dir, f));
  }

  /** The public copies of a bundle whose encrypted file is removed. */
  unpublish(path: string): void {
    rmSync(this.p.publicOf(path), { recursive: true, force: true });
  }

  /** Writes the files and the public copies of the bundles among them, all or nothing. */
  commit(files: readonly FileWrite[]): void {
    this.written(writeFiles([...files, ...this.publicWrites.splice(0)]));
    for (const path of this.publicRemovals.splice(0)) rmSync(path, { force: true });
  }

  /**
   * A bundle's certificates: decrypted (and compared with their public copies) when the age key is here,
   * else the public copies alone.
   */
  async certificates(path: string, hint: string): Promise<{ data: Bundle; problems: string[] }> {
    const dir = this.p.publicOf(path);
    const copy = (key: string) => (existsSync(join(dir, key)) ? readFileSync(join(dir, key), 'utf8') : undefined);
    if (!this.hasKey()) {
      const data: Bundle = {};
      for (const key of ['ca.pem', 'cert.pem', 'previous-ca.pem']) if (copy(key) !== undefined) data[key] = copy(key)!;
      if (!data['ca.pem']) throw new Error(`${this.rel(join(dir, 'ca.pem'))} is missing, and without the age key nothing else shows the certificates: run \`npm run certs -- sync\` where the key is`);
      return { data, problems: [] };
    }
    const data = await this.read(path, hint);
    const stale = Object.keys(data).filter((k) => k.endsWith('.pem') && k !== 'key.pem' && copy(k) !== data[k]);
    return { data, problems: stale.map((k) => `${this.rel(join(dir, k))} does not match the encrypted copy: run \`npm run certs -- sync\``) };
  }

  hasKey(): boolean {
    return existsSync(this.p.ageKey);
  }

  async caFile(state: CaState): Promise<FileWrite> {
    const data: Bundle = { 'ca.pem': state.ca.certPem, 'ca.key': state.ca.keyPem };
    if (state.previousCaPem) data['previous-ca.pem'] = state.previousCaPem;
    // Secret-shaped so that the encrypted_regex covers the key; nothing applies this file.
    return this.bundleFile(this.p.ca, secret('buildkit-ca', this.ctx.plan.servers[0].namespace, data));
  }

  /** The SANs ride in a plaintext annotation, so that synth and CI check them without the key. */
  async serverFile(server: ServerPlan, trustPem: string, cert: CertifiedKey): Promise<FileWrite> {
    const doc = secret(server.secretName, server.namespace, { 'ca.pem': trustPem, 'cert.pem': cert.certPem, 'key.pem': cert.keyPem },
      {}, { [SANS_ANNOTATION]: certificateSans(cert.certPem).join(',') });
    return this.bundleFile(this.p.server(server.secretName), doc);
  }

  namespaceFile(): FileWrite {
    return { path: this.p.namespace, content: namespaceSeed(this.ctx.plan) };
  }

  async clientFile(name: string, namespace: string, trustPem: string, client: CertifiedKey): Promise<FileWrite> {
    const secretName = name === IN_CLUSTER_CLIENT ? IN_CLUSTER_SECRET : `buildkit-client-${name}`;
    const doc = secret(secretName, namespace, { 'ca.pem': trustPem, 'cert.pem': client.certPem, 'key.pem': client.keyPem }, { 'buildkit-service/client': name });
    return this.bundleFile(this.p.client(name), doc);
  }

  /** A server's file: where the app puts it, or where an earlier Secret name left it (the only such file). */
  findServerFile(server: ServerPlan): string {
    const expected = this.p.server(server.secretName);
    if (existsSync(expected)) return expected;
    const planned = new Set(this.ctx.plan.servers.map((s) => this.p.server(s.secretName)));
    const strays = this.serverFiles().filter((f) => !planned.has(f));
    const missing = this.ctx.plan.servers.filter((s) => !existsSync(this.p.server(s.secretName)));
    if (strays.length === 0) {
      throw new Error(`${this.rel(expected)} is missing and no other daemon Secret file is in ${this.rel(this.p.apps)}: restore it from git`);
    }
    if (strays.length !== 1 || missing.length !== 1) {
      throw new Error(`${this.rel(expected)} is missing and ${strays.length} other daemon Secret files could be it: `
        + `rename the one for Secret ${server.secretName} to ${this.rel(expected)}, then run sync`);
    }
    return strays[0];
  }

  /** Every daemon Secret file in apps/: ours, and not a client's. */
  serverFiles(): string[] {
    return (existsSync(this.p.apps) ? readdirSync(this.p.apps).sort() : []).map((f) => join(this.p.apps, f))
      .filter((f) => f.endsWith('.yaml') && f !== this.p.namespace)
      .filter((f) => {
        const m = plainMetadata(f);
        return m.labels?.[MANAGED_BY_LABEL] === 'buildkit-service' && m.labels['buildkit-service/client'] === undefined;
      });
  }

  /** Names of the client bundles in clients/. */
  clientNames(): string[] {
    return existsSync(this.p.clients) ? readdirSync(this.p.clients).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort() : [];
  }

  /** Every sops file this tool writes. */
  sopsFiles(): string[] {
    const clients = [IN_CLUSTER_CLIENT, ...this.clientNames()].map((n) => this.p.client(n));
    return [this.p.ca, ...this.serverFiles(), ...clients].filter((f) => existsSync(f));
  }

  written(paths: string[]): void {
    for (const path of paths) this.ctx.log(`wrote ${this.rel(path)}`);
  }
}


/** The CA certificates a client or the daemon trusts: the current CA, and the previous one mid-rotation. */
function trustBundle(state: CaState): string {
  return state.ca.certPem + (state.previousCaPem ?? '');
}

function serverCertificate(ctx: CertsContext, server: ServerPlan, ca: CertifiedKey, days: number): CertifiedKey {
  return issueServerCertificate(ca, { commonName: server.commonName, dnsNames: server.dnsNames, ips: server.ips, validityDays: days, now: ctx.now, keyPair: ctx.newKeyPair?.() });
}

function clientCertificate(ctx: CertsContext, ca: CertifiedKey, name: string, days: number): CertifiedKey {
  return issueClientCertificate(ca, { commonName: `buildkit-client-${name}`, validityDays: days, now: ctx.now, keyPair: ctx.newKeyPair?.() });
}

function newCa(ctx: CertsContext, generation: number, days: number): CertifiedKey {
  return createCa({ commonName: `${CA_NAME} ${generation}`, validityDays: days, now: ctx.now, keyPair: ctx.newKeyPair?.() });
}

/** Does the certificate chain to this CA? */
function chainsTo(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

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
      throw new Error(`${store.rel(p.ageKey)} is missing, and secrets/ is encrypted to ${to}: a new key could not open it; restore that identity ${RESTORE_HINT} > ${store.rel(p.ageKey)}`);
    }
    const { text } = await newIdentityFile(ctx.now);
    store.commit([{ path: p.ageKey, content: text, mode: 0o600 }]);
    ctx.log('  keep it safe: it is git-ignored, and Flux needs a copy (see README, "Flux and the age key")');
  } else {
    ctx.log(`kept ${store.rel(p.ageKey)}`);
  }
  if (initialized) await store.readCa(); // names the file and its recipients when this identity cannot open it
  const own = await Promise.all(store.identities().map(recipientOf));
  const existing = existsSync(p.sopsConfig) ? store.recipients() : [];
  const recipients = [...new Set([...existing, ...own, ...(options.extraRecipients ?? [])])];
  if (initialized && recipients.length !== existing.length) {
    throw new CertsUsageError('secrets/ exists: add recipients with `npm run certs -- recipients add age1...`, which re-encrypts every file');
  }
  store.commit([store.sopsConfig(recipients), store.namespaceFile()]);

  if (initialized) {
    ctx.log(`kept ${store.rel(p.ca)}: certificates exist (rotate, sync or issue-client change them)`);
    return;
  }
  const days = { caDays: options.caDays ?? DEFAULT_DAYS.ca, serverDays: options.serverDays ?? DEFAULT_DAYS.server, clientDays: options.clientDays ?? DEFAULT_DAYS.client };
  const state: CaState = { ca: newCa(ctx, 1, days.caDays) };
  const servers = await Promise.all(ctx.plan.servers.map((s) => store.serverFile(s, trustBundle(state), serverCertificate(ctx, s, state.ca, days.serverDays))));
  store.commit([
    await store.caFile(state),
    ...servers,
    await store.clientFile(IN_CLUSTER_CLIENT, ctx.plan.clientNamespace, trustBundle(state), clientCertificate(ctx, state.ca, IN_CLUSTER_CLIENT, days.clientDays)),
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
  if (!isDnsLabel(namespace)) throw new CertsUsageError(`invalid --namespace ${JSON.stringify(namespace)}: use a DNS label, lowercase letters, digits and "-"`);
  store.commit([await store.clientFile(name, namespace, trustBundle(state), client)]);
}

export interface RotateOptions {
  /** Start a CA rotation: a new CA that the daemons trust beside the old one. */
  readonly ca?: boolean;
  /** End a CA rotation: the servers move to the new CA and the old CA is trusted nowhere. */
  readonly finishCa?: boolean;
  /** With finishCa: finish although clients still chain to the retiring CA (they stop working). */
  readonly force?: boolean;
  /** @default 365 */
  readonly serverDays?: number;
  /** @default 3650 */
  readonly caDays?: number;
}

/**
 * `rotate`: new server certificates from the same CA.
 * `rotate --ca`: phase one of a CA rotation. The daemons trust both CAs, so old and new clients connect;
 * the servers keep their certificates from the old CA, which every client (old ones, and new ones whose
 * ca.pem holds both) verifies. The in-cluster client moves to the new CA at once.
 * `rotate --finish-ca`: phase two, once every client is re-issued: the servers move to the new CA, and
 * every bundle in secrets/ trusts the new CA alone. Refused while a client would be stranded.
 */
export async function rotate(ctx: CertsContext, options: RotateOptions = {}): Promise<void> {
  if (options.ca && options.finishCa) throw new CertsUsageError('rotate takes --ca or --finish-ca, not both');
  if (options.force && !options.finishCa) throw new CertsUsageError('--force goes with --finish-ca');
  const store = new SecretsStore(ctx);
  const state = await store.readCa();
  const serverDays = options.serverDays ?? DEFAULT_DAYS.server;

  if (!options.ca && !options.finishCa) {
    if (state.previousCaPem) throw new Error('a CA rotation is under way: a server certificate from the new CA would fail clients not yet renewed; finish it first (rotate --finish-ca)');
    const files: FileWrite[] = [];
    for (const server of ctx.plan.servers) {
      const path = store.findServerFile(server);
      const old = await store.read(path, SERVER_HINT).catch(() => undefined);
      const problems = old ? checkCertificate({ label: '', certPem: old['cert.pem'], keyPem: old['key.pem'], caPem: state.ca.certPem, now: ctx.now, minDaysLeft: 0 }).problems : ['unreadable'];
      if (problems.length > 0) ctx.log(`replacing the server certificate of ${server.secretName}, which had problems: ${problems.join('; ')}`);
      files.push(await store.serverFile(server, trustBundle(state), serverCertificate(ctx, server, state.ca, serverDays)));
    }
    store.commit(files);
    return;
  }
  if (options.ca) {
    if (state.previousCaPem) throw new Error('a CA rotation is under way: run rotate --finish-ca first');
    await startCaRotation(ctx, store, state, options.caDays ?? DEFAULT_DAYS.ca, []);
    ctx.log('next: re-issue every client (issue-client NAME --renew), export and hand them out, then rotate --finish-ca');
    return;
  }
  await finishCaRotation(ctx, store, state, serverDays, options.force ?? false);
}

/** Phase one: a new CA generation the daemons trust beside the old one; the in-cluster client and `reissue` move to it. */
async function startCaRotation(ctx: CertsContext, store: SecretsStore, state: CaState, caDays: number, reissue: readonly string[]): Promise<CaState> {
  const next: CaState = { ca: newCa(ctx, caGeneration(state.ca.certPem) + 1, caDays), previousCaPem: state.ca.certPem };
  const files = [await store.caFile(next)];
  for (const server of ctx.plan.servers) {
    const data = await store.read(store.findServerFile(server), SERVER_HINT);
    files.push(await store.serverFile(server, trustBundle(next), { certPem: data['cert.pem'], keyPem: data['key.pem'] }));
  }
  for (const name of [IN_CLUSTER_CLIENT, ...reissue]) {
    const namespace = name === IN_CLUSTER_CLIENT ? ctx.plan.clientNamespace : plainMetadata(store.p.client(name)).namespace!;
    files.push(await store.clientFile(name, namespace, trustBundle(next), clientCertificate(ctx, next.ca, name, DEFAULT_DAYS.client)));
  }
  store.commit(files);
  return next;
}

/**
 * Phase two: refuses while a client still chains to the retiring CA (unless forced); then every server
 * certificate comes from the new CA and every bundle, the servers' and the clients', trusts it alone.
 */
async function finishCaRotation(ctx: CertsContext, store: SecretsStore, state: CaState, serverDays: number, force: boolean): Promise<void> {
  if (!state.previousCaPem) throw new Error('no CA rotation is under way: start one with rotate --ca');
  const clients = new Map<string, Bundle>();
  for (const name of [IN_CLUSTER_CLIENT, ...store.clientNames()]) {
    if (existsSync(store.p.client(name))) clients.set(name, await store.read(store.p.client(name), ''));
  }
  const stranded = [...clients].filter(([, data]) => !chainsTo(data['cert.pem'], state.ca.certPem)).map(([name]) => name);
  if (stranded.length > 0 && !force) {
    throw new Error(`rotate --finish-ca would strand ${stranded.join(', ')}, which still chain to the retiring CA ${caGeneration(state.previousCaPem)}: `
      + `re-issue each with \`npm run certs -- issue-client NAME --renew\` (or \`revoke NAME\`), or pass --force to cut them off`);
  }
  const finished: CaState = { ca: state.ca };
  const files = [await store.caFile(finished)];
  for (const server of ctx.plan.servers) {
    files.push(await store.serverFile(server, trustBundle(finished), serverCertificate(ctx, server, finished.ca, serverDays)));
  }
  const handOut: string[] = [];
  for (const [name, data] of clients) {
    if (stranded.includes(name)) continue;
    const namespace = plainMetadata(store.p.client(name)).namespace!;
    files.push(await store.clientFile(name, namespace, finished.ca.certPem, { certPem: data['cert.pem'], keyPem: data['key.pem'] }));
    if (name !== IN_CLUSTER_CLIENT) handOut.push(name);
  }
  store.commit(files);
  if (stranded.length > 0) ctx.log(`cut off (forced): ${stranded.join(', ')}`);
  if (handOut.length > 0) {
    ctx.log(`their ca.pem now trusts only the new CA: export and hand out again ${handOut.map((n) => `\`npm run certs -- export ${n} --out DIR\``).join(', ')}`);
  }
}

/**
 * `revoke NAME`: BuildKit reads no CRL, so a client is revoked by moving every other holder to a new CA.
 * This is phase one of a CA rotation that re-issues every client except NAME and deletes NAME's bundle;
 * once the others have their new bundles, `rotate --finish-ca` cuts NAME off.
 */
export async function revoke(ctx: CertsContext, name: string, options: { caDays?: number } = {}): Promise<string[]> {
  const store = new SecretsStore(ctx);
  const path = store.p.client(name);
  if (name === IN_CLUSTER_CLIENT) throw new CertsUsageError(`the ${IN_CLUSTER_CLIENT} client is renewed by every CA rotation: run rotate --ca, then rotate --finish-ca`);
  if (!existsSync(path)) throw new CertsUsageError(`no client ${name} (${store.rel(path)})`);
  const state = await store.readCa();
  if (state.previousCaPem) throw new Error('a CA rotation is under way: finish it (rotate --finish-ca), then revoke');
  const others = store.clientNames().filter((n) => n !== name);
  await startCaRotation(ctx, store, state, options.caDays ?? DEFAULT_DAYS.ca, others);
  rmSync(path);
  store.unpublish(path);
  ctx.log(`removed ${store.rel(path)}`);
  ctx.log(others.length
    ? `hand out again: ${others.map((n) => `\`npm run certs -- export ${n} --out DIR\``).join(', ')}; then \`npm run certs -- rotate --finish-ca\`, after which ${name} is refused`
    : `next: \`npm run certs -- rotate --finish-ca\`, after which ${name} is refused`);
  return others;
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
  if (!next.some((r) => own.includes(r))) ctx.log(`note: ${store.rel(store.p.ageKey)} cannot decrypt secrets/ after this; keep a key of the new set`);
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
  if (moved(p.ca, 'buildkit-ca', ctx.plan.servers[0].namespace)) files.push(await store.caFile(state));
  const removed: string[] = [];
  const oldNamespaces = new Set<string>();
  for (const server of ctx.plan.servers) {
    const previousPath = store.findServerFile(server);
    const before = plainMetadata(previousPath);
    oldNamespaces.add(before.namespace!);
    const data = await store.read(previousPath, SERVER_HINT);
    let cert: CertifiedKey = { certPem: data['cert.pem'], keyPem: data['key.pem'] };
    const covered = new Set(certificateSans(cert.certPem));
    const missing = server.sans.filter((s) => !covered.has(s));
    if (missing.length > 0) {
      if (state.previousCaPem) {
        throw new Error(`the server certificate of ${server.secretName} misses ${missing.join(', ')}, but a CA rotation is under way and clients `
          + 'not yet renewed trust only the old CA: finish it (issue-client NAME --renew for each client, then rotate --finish-ca), then run sync');
      }
      cert = serverCertificate(ctx, server, state.ca, options.serverDays ?? DEFAULT_DAYS.server);
      ctx.log(`new server certificate for ${server.secretName}: the old one missed ${missing.join(', ')}`);
    }
    const annotated = before.annotations?.[SANS_ANNOTATION] === certificateSans(cert.certPem).join(',');
    if (previousPath !== p.server(server.secretName) || moved(previousPath, server.secretName, server.namespace) || !annotated || missing.length > 0) {
      files.push(await store.serverFile(server, data['ca.pem'], cert));
    }
    if (previousPath !== p.server(server.secretName)) removed.push(previousPath);
  }
  for (const name of [IN_CLUSTER_CLIENT, ...store.clientNames()]) {
    const path = p.client(name);
    if (!existsSync(path)) continue;
    const current = plainMetadata(path);
    // A bundle issued into a daemon's old namespace follows the first daemon; one given another namespace keeps it.
    const target = name === IN_CLUSTER_CLIENT ? ctx.plan.clientNamespace
      : oldNamespaces.has(current.namespace!) ? ctx.plan.servers[0].namespace : current.namespace!;
    if (!moved(path, current.name!, target)) continue;
    const data = await store.read(path, '');
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

/** The environment variables the remote driver of docker/setup-buildx-action reads for node 0. */
export const CI_VARIABLES = ['BUILDER_NODE_0_AUTH_TLS_CACERT', 'BUILDER_NODE_0_AUTH_TLS_CERT', 'BUILDER_NODE_0_AUTH_TLS_KEY'];

export interface ExportResult {
  readonly dir: string;
  /** One runnable command per line. */
  readonly commands: string[];
}

/** A private key must not land where `git add -A` would pick it up. */
function checkNotCommittable(dir: string): void {
  let probe = dir;
  while (!existsSync(probe)) probe = dirname(probe);
  const top = spawnSync('git', ['-C', probe, 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  if (top.status !== 0) return; // not in a git work tree
  if (spawnSync('git', ['-C', top.stdout.trim(), 'check-ignore', '-q', join(dir, 'key.pem')]).status === 0) return;
  throw new CertsUsageError(`--out ${displayPath(dir)} is inside the git work tree ${top.stdout.trim()} and git does not ignore it: \`git add -A\` would commit the private key; `
    + 'use a folder outside the repository, or one under client-bundles/ (git-ignored)');
}

const quote = (s: string) => (/^[\w./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Decrypts a client bundle into dir (0700; ca.pem, cert.pem, key.pem 0600, as buildctl --tlsdir reads),
 * and returns the commands that use it: one buildx builder over the shared addresses (platform-pinned
 * daemons appended with --platform), a builder of its own per per-replica address (to pin a repository to
 * one warm cache), and buildctl per address.
 */
export async function exportClient(ctx: CertsContext, name: string, outDir: string): Promise<ExportResult> {
  const store = new SecretsStore(ctx);
  const path = store.p.client(name);
  if (!existsSync(path)) throw new CertsUsageError(`no client ${name} (${store.rel(path)}): issue it first with \`npm run certs -- issue-client ${name}\``);
  const data = await store.read(path, '');
  const dir = resolve(outDir);
  checkNotCommittable(dir);
  store.written(writeFiles(['ca.pem', 'cert.pem', 'key.pem'].map((f) => ({ path: join(dir, f), content: data[f], mode: 0o600 }))));
  chmodSync(dir, 0o700);
  const tls = `cacert=${join(dir, 'ca.pem')},cert=${join(dir, 'cert.pem')},key=${join(dir, 'key.pem')}`;
  const endpoints = ctx.plan.servers.flatMap((s) => s.endpoints);
  const shared = endpoints.filter((e) => !e.pod);
  const create = (builder: string, e: ClientEndpoint, append: boolean) => ['docker', 'buildx', 'create', ...(append ? ['--append'] : []),
    '--name', builder, '--node', e.name, '--driver', 'remote', ...(e.platform ? ['--platform', e.platform] : []), '--driver-opt', tls, e.address].map(quote).join(' ');
  const pinned = endpoints.filter((e) => e.pod);
  const commands = [
    ...shared.map((e, i) => create('buildkit-builder', e, i > 0)),
    ...pinned.map((e) => create(`buildkit-${e.name}`, e, false)),
  ];
  // The chooser sends each repository to the replica whose cache holds it, failing over when it is down.
  const chooser = join(dir, 'buildkit-endpoint');
  const chosen = pinned.length > 1 ? `"tcp://$(${quote(chooser)} "$GITHUB_REPOSITORY")"` : undefined;
  if (chosen) {
    store.written(writeFiles([{ path: chooser, content: endpointScript(pinned.map((e) => e.address.slice('tcp://'.length))), mode: 0o755 }]));
    commands.push(`docker buildx create --name buildkit-repo --driver remote --driver-opt ${quote(tls)} ${chosen}`);
  }
  const buildctl = (addr: string) => `buildctl --addr ${addr} --tlsdir ${quote(dir)} build --frontend dockerfile.v0 --local context=. --local dockerfile=.`;
  for (const e of endpoints) commands.push(buildctl(quote(e.address)));
  if (chosen) commands.push(buildctl(chosen));
  commands.push(`# CI secrets for the remote driver (docker/setup-buildx-action): ${CI_VARIABLES.map((v, i) => `${v} = ${['ca.pem', 'cert.pem', 'key.pem'][i]}`).join(', ')}`);
  return { dir, commands };
}

export interface CheckResult {
  readonly reports: CertificateReport[];
  /** The CA rotation phase and who still needs a new bundle, when one is under way. */
  readonly notes: string[];
  readonly ok: boolean;
}

/**
 * Reports on every certificate against what the app serves now: expiry, names, chains, purpose, trust
 * anchors and the rotation phase. With the age key it decrypts each bundle, also checks every key against
 * its certificate and the public copies against the encrypted ones; without it (CI) it reads the public copies.
 */
export async function check(ctx: CertsContext, minDaysLeft = 30): Promise<CheckResult> {
  const store = new SecretsStore(ctx);
  const notes: string[] = store.hasKey() ? [] : [`no age key: checked the public copies in ${store.rel(store.p.public)}; run with the key to check each key against its certificate`];
  const ca = await store.certificates(store.p.ca, 'run `npm run certs -- init`');
  const state: CaState = { ca: { certPem: ca.data['ca.pem'], keyPem: ca.data['ca.key'] }, previousCaPem: ca.data['previous-ca.pem'] };
  const common = { now: ctx.now, minDaysLeft };
  // An expiry names the command that renews that certificate: CI prints it, where nobody holds the key.
  const renewal = (report: CertificateReport, how: string) => {
    report.problems.forEach((p, i) => { if (p.startsWith('expire')) report.problems[i] = `${p}: renew with ${how}`; });
    return report;
  };
  const reports = [renewal(checkCertificate({ ...common, label: `CA ${caGeneration(state.ca.certPem)}`, certPem: state.ca.certPem, keyPem: state.ca.keyPem, caPem: state.ca.certPem, role: 'ca' }),
    '`npm run certs -- rotate --ca`, then renew every client and `rotate --finish-ca`')];
  reports[0].problems.push(...ca.problems);
  // Outside a rotation every bundle trusts the current CA alone; during one, at most the retiring CA besides.
  const allowed = new Set([state.ca.certPem, state.previousCaPem].filter((p): p is string => !!p).map((p) => p.trim()));
  const anchorProblems = (bundlePem: string, must: 'current' | 'rotation'): string[] => {
    const anchors = splitPemBundle(bundlePem).map((p) => p.trim());
    if (!state.previousCaPem) {
      const others = anchors.filter((a) => a !== state.ca.certPem.trim()).length;
      return others || anchors.length === 0
        ? [`its ca.pem trusts ${others} certificate(s) besides the current CA (a retired or a foreign CA); it must trust the current CA alone: re-issue it`]
        : [];
    }
    const strangers = anchors.filter((a) => !allowed.has(a)).length;
    const problems = strangers ? [`its ca.pem trusts ${strangers} certificate(s) that are no CA of this repository: re-issue it`] : [];
    if (must === 'rotation' && anchors.length !== 2) problems.push('mid-rotation the daemon must trust the retiring and the current CA: restore secrets/ from git, then rotate --ca');
    return problems;
  };
  const daemonTrust: string[] = [];
  for (const server of ctx.plan.servers) {
    const path = store.p.server(server.secretName);
    const { data, problems } = await store.certificates(path, SERVER_HINT);
    const report = renewal(checkCertificate({ ...common, label: `server (${server.secretName})`, certPem: data['cert.pem'], keyPem: data['key.pem'], caPem: trustBundle(state), mustCover: server, role: 'server' }),
      '`npm run certs -- rotate`');
    if (!splitPemBundle(data['ca.pem']).some((p) => p.trim() === state.ca.certPem.trim())) report.problems.push('the daemon does not trust the current CA: run rotate');
    report.problems.push(...anchorProblems(data['ca.pem'], 'rotation'), ...problems);
    // What synth and CI read without the key must be what the certificate says.
    if (plainMetadata(path).annotations?.[SANS_ANNOTATION] !== certificateSans(data['cert.pem']).join(',')) {
      report.problems.push(`its ${SANS_ANNOTATION} annotation does not list the certificate's SANs: run \`npm run certs -- sync\``);
    }
    reports.push(report);
    daemonTrust.push(data['ca.pem']);
  }
  const retiring: string[] = [];
  for (const name of [IN_CLUSTER_CLIENT, ...store.clientNames()]) {
    if (!existsSync(store.p.client(name))) continue;
    const { data, problems } = await store.certificates(store.p.client(name), '');
    // A client must chain to a CA every daemon trusts, and verify the servers with its own ca.pem.
    const issuer = [state.ca.certPem, state.previousCaPem].find((ca): ca is string => !!ca && chainsTo(data['cert.pem'], ca));
    const label = `client ${name}${issuer ? `, chains to ${caLabel(issuer, state)}` : ''}`;
    const report = renewal(checkCertificate({ ...common, label, certPem: data['cert.pem'], keyPem: data['key.pem'], caPem: daemonTrust.join(''), role: 'client' }),
      `\`npm run certs -- issue-client ${name} --renew\`, then export it`);
    report.problems.push(...anchorProblems(data['ca.pem'], 'current'), ...problems);
    if (issuer && issuer !== state.ca.certPem) retiring.push(name);
    if (!issuer) report.problems.push(`chains to no CA of this repository: re-issue it with \`npm run certs -- issue-client ${name} --renew\``);
    reports.push(report);
  }
  if (state.previousCaPem) {
    notes.push(`CA rotation under way (phase 1): the daemons trust CA ${caGeneration(state.previousCaPem)} (retiring) and CA ${caGeneration(state.ca.certPem)} (current)`);
    notes.push(retiring.length
      ? `still on the retiring CA: ${retiring.join(', ')}: \`npm run certs -- issue-client NAME --renew\` each, then \`rotate --finish-ca\``
      : 'every client is on the current CA: `npm run certs -- rotate --finish-ca` ends the rotation');
  }
  return { reports, notes, ok: reports.every((r) => r.problems.length === 0) };
}
