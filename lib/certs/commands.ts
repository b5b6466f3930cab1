import { existsSync, readdirSync, rmSync } from 'fs';
import { join, resolve } from 'path';
import { dump, load } from 'js-yaml';
import { certificateSans, checkCertificate, CertificateReport, splitPemBundle } from '../pki/check';
import { CertifiedKey, createCa, issueClientCertificate, issueServerCertificate, KeyPair } from '../pki/issue';
import { Endpoint, SEED, serverSans } from '../settings';
import { newIdentityFile, parseIdentities, recipientOf } from '../sops/age-keys';
import { readSopsFile } from '../sops/metadata';
import { decryptDocument, encryptDocument } from '../sops/sops-file';
import { displayPath, readText, writeFiles } from './files';
import { IN_CLUSTER_CLIENT, IN_CLUSTER_SECRET, MANAGED_BY_LABEL, paths, SANS_ANNOTATION } from './layout';

/** What every certificate command needs: where secrets/ is, what the chart serves, and the time. */
export interface CertsContext {
  /** The secrets/ folder. */
  readonly root: string;
  readonly endpoint: Endpoint;
  /**
   * Name of the daemon's certificate Secret, as the chart mounts it.
   * @default 'buildkit-daemon-certs'
   */
  readonly daemonSecretName?: string;
  /**
   * Namespace of the in-cluster client Secret.
   * @default - the service's namespace
   */
  readonly clientNamespace?: string;
  readonly now: Date;
  /**
   * Key pairs for new certificates.
   * @default - a new RSA 2048 key pair each
   */
  readonly newKeyPair?: () => KeyPair;
  /** Prints one line of progress. */
  readonly log: (line: string) => void;
}

export interface Validity {
  /** @default 3650 */
  readonly caDays?: number;
  /** @default 365 */
  readonly serverDays?: number;
  /** @default 365 */
  readonly clientDays?: number;
}

const ENCRYPTED_REGEX = '^(data|stringData)$';
const DAEMON_HINT = 'run `npm run certs -- sync` if config.ts names another Secret than before, else `npm run certs -- init`';
/** Validity in days: a long-lived CA that stays in git encrypted, short-lived certificates that rotate. */
const DEFAULT_DAYS = { ca: 3650, server: 365, client: 365 };

interface CaState { ca: CertifiedKey; previousCaPem?: string }

function secret(name: string, namespace: string, stringData: Record<string, string>, labels: Record<string, string> = {}, annotations?: Record<string, string>) {
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: 'buildkit-service', ...labels }, ...(annotations ? { annotations } : {}) },
    type: 'Opaque', stringData,
  };
}

class SecretsStore {
  readonly p: ReturnType<typeof paths>;
  constructor(private readonly ctx: CertsContext) { this.p = paths(ctx.root, ctx.daemonSecretName); }

  get daemonSecretName(): string { return this.ctx.daemonSecretName ?? SEED.certSecretName; }

  rel(path: string): string { return displayPath(path); }

  identities(): string[] {
    const ids = parseIdentities(readText(this.p.ageKey, 'run `npm run certs -- init`, or copy the age identity there'));
    if (ids.length === 0) throw new Error(`${this.rel(this.p.ageKey)} holds no age identity`);
    return ids;
  }

  recipients(): string[] {
    const config = load(readText(this.p.sopsConfig, 'run `npm run certs -- init`')) as any;
    const age = config?.creation_rules?.[0]?.age;
    const list = (Array.isArray(age) ? age : String(age ?? '').split(',')).map((r: string) => r.trim()).filter(Boolean);
    if (list.length === 0) throw new Error(`${this.rel(this.p.sopsConfig)} names no age recipients`);
    return list;
  }

  async read(path: string, hint: string): Promise<Record<string, string>> {
    const doc = await decryptDocument(readText(path, hint), this.identities()).catch((err: Error) => {
      throw new Error(`${this.rel(path)}: ${err.message}`);
    });
    return (doc as any).stringData as Record<string, string>;
  }

  async encrypt(doc: object): Promise<string> {
    return encryptDocument(doc as any, { recipients: this.recipients(), encryptedRegex: ENCRYPTED_REGEX, now: this.ctx.now });
  }

  async readCa(): Promise<CaState> {
    const data = await this.read(this.p.ca, 'run `npm run certs -- init`');
    return { ca: { certPem: data['ca.pem'], keyPem: data['ca.key'] }, previousCaPem: data['previous-ca.pem'] };
  }

  async caFile(state: CaState) {
    const data: Record<string, string> = { 'ca.pem': state.ca.certPem, 'ca.key': state.ca.keyPem };
    if (state.previousCaPem) data['previous-ca.pem'] = state.previousCaPem;
    // Secret-shaped so that the encrypted_regex covers the key; nothing applies this file.
    return { path: this.p.ca, content: await this.encrypt(secret('buildkit-ca', this.ctx.endpoint.namespace, data)) };
  }

  /** The SANs ride in a plaintext annotation, so that synth and CI check them without the key. */
  async daemonFile(trustPem: string, server: CertifiedKey) {
    const doc = secret(this.daemonSecretName, this.ctx.endpoint.namespace, { 'ca.pem': trustPem, 'cert.pem': server.certPem, 'key.pem': server.keyPem },
      {}, { [SANS_ANNOTATION]: certificateSans(server.certPem).join(',') });
    return { path: this.p.daemon, content: await this.encrypt(doc) };
  }

  get clientNamespace(): string { return this.ctx.clientNamespace ?? this.ctx.endpoint.namespace; }

  namespaceFile() {
    return { path: this.p.namespace, content: namespaceSeed(this.ctx.endpoint.namespace, this.clientNamespace) };
  }

  async clientFile(name: string, namespace: string, trustPem: string, client: CertifiedKey) {
    const secretName = name === IN_CLUSTER_CLIENT ? IN_CLUSTER_SECRET : `buildkit-client-${name}`;
    const doc = secret(secretName, namespace, { 'ca.pem': trustPem, 'cert.pem': client.certPem, 'key.pem': client.keyPem }, { 'buildkit-service/client': name });
    return { path: this.p.client(name), content: await this.encrypt(doc) };
  }

  /** The daemon's file: where config.ts puts it, or where an earlier Secret name left it. */
  findDaemonFile(): string {
    if (existsSync(this.p.daemon)) return this.p.daemon;
    const candidates = existsSync(this.p.apps) ? readdirSync(this.p.apps).sort().map((f) => join(this.p.apps, f))
      .filter((f) => f.endsWith('.yaml') && f !== this.p.namespace && f !== this.p.client(IN_CLUSTER_CLIENT)) : [];
    const found = candidates.filter((f) => {
      const m = plainMetadata(f);
      return m.labels?.[MANAGED_BY_LABEL] === 'buildkit-service' && m.labels?.['buildkit-service/client'] === undefined;
    });
    if (found.length !== 1) throw new Error(`${this.rel(this.p.daemon)} is missing and ${found.length ? `${found.length} other daemon Secrets are` : 'no other daemon Secret is'} in ${this.rel(this.p.apps)}: run \`npm run certs -- init\``);
    return found[0];
  }

  /** Names of the client bundles in clients/. */
  clientNames(): string[] {
    return existsSync(this.p.clients) ? readdirSync(this.p.clients).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort() : [];
  }

  written(paths: string[]): void {
    for (const path of paths) this.ctx.log(`wrote ${this.rel(path)}`);
  }
}

/** The CA certificates a client or the daemon trusts: the current CA, and the previous one mid-rotation. */
function trustBundle(state: CaState): string {
  return state.ca.certPem + (state.previousCaPem ?? '');
}

function serverCertificate(ctx: CertsContext, ca: CertifiedKey, days: number): CertifiedKey {
  return issueServerCertificate(ca, { commonName: ctx.endpoint.names[0], ...serverSans(ctx.endpoint), validityDays: days, now: ctx.now, keyPair: ctx.newKeyPair?.() });
}

function clientCertificate(ctx: CertsContext, ca: CertifiedKey, name: string, days: number): CertifiedKey {
  return issueClientCertificate(ca, { commonName: `buildkit-client-${name}`, validityDays: days, now: ctx.now, keyPair: ctx.newKeyPair?.() });
}

/**
 * The namespaces the Secrets go into, for GitOps tools that apply secrets/apps before dist/ (Flux's
 * Kustomization for dist/ depends on the Secrets). Flux creates them only when missing and never prunes
 * them: dist/ owns the service's namespace and its labels, the CI runners' namespace belongs to its team.
 */
function namespaceSeed(service: string, client: string): string {
  const seed = (name: string, labels?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
      ...(labels ? { labels } : {}),
    },
  });
  const docs = [seed(service, { 'pod-security.kubernetes.io/enforce': 'privileged' }), ...(client === service ? [] : [seed(client)])];
  return docs.map((d) => dump(d)).join('---\n');
}

export interface InitOptions extends Validity {
  /** More age recipients for .sops.yaml, such as a teammate's or the cluster's. */
  readonly extraRecipients?: readonly string[];
}

/** Creates what is missing: the age identity, .sops.yaml, then the CA, server and in-cluster client certificates. */
export async function init(ctx: CertsContext, options: InitOptions = {}): Promise<void> {
  const store = new SecretsStore(ctx);
  const { p } = store;
  if (!existsSync(p.ageKey)) {
    const { text } = await newIdentityFile(ctx.now);
    store.written(writeFiles([{ path: p.ageKey, content: text, mode: 0o600 }]));
    ctx.log(`  keep it safe: it is git-ignored, and Flux needs a copy (see README, "Flux and the age key")`);
  } else {
    ctx.log(`kept ${store.rel(p.ageKey)}`);
  }
  const own = await Promise.all(store.identities().map(recipientOf));
  const existing = existsSync(p.sopsConfig) ? store.recipients() : [];
  const recipients = [...new Set([...existing, ...own, ...(options.extraRecipients ?? [])])];
  for (const r of recipients) if (!/^age1[0-9a-z]{58}$/.test(r)) throw new Error(`invalid age recipient ${JSON.stringify(r)}: use an age1... public key`);
  const sopsConfig = dump({ creation_rules: [{ path_regex: '\\.yaml$', encrypted_regex: ENCRYPTED_REGEX, age: recipients.join(',') }] });
  store.written(writeFiles([{ path: p.sopsConfig, content: sopsConfig }, store.namespaceFile()]));

  if (existsSync(p.ca)) {
    ctx.log(`kept ${store.rel(p.ca)}: certificates exist (use rotate or issue-client to change them)`);
    return;
  }
  const days = { caDays: options.caDays ?? DEFAULT_DAYS.ca, serverDays: options.serverDays ?? DEFAULT_DAYS.server, clientDays: options.clientDays ?? DEFAULT_DAYS.client };
  const state: CaState = { ca: createCa({ commonName: 'buildkit-service CA', validityDays: days.caDays, now: ctx.now, keyPair: ctx.newKeyPair?.() }) };
  const server = serverCertificate(ctx, state.ca, days.serverDays);
  const client = clientCertificate(ctx, state.ca, IN_CLUSTER_CLIENT, days.clientDays);
  store.written(writeFiles([
    await store.caFile(state),
    await store.daemonFile(trustBundle(state), server),
    await store.clientFile(IN_CLUSTER_CLIENT, store.clientNamespace, trustBundle(state), client),
  ]));
}

export interface IssueClientOptions {
  /** Replace an existing client certificate. */
  readonly renew?: boolean;
  /** @default 365 */
  readonly days?: number;
  /**
   * Namespace of the client's Secret.
   * @default - the service's namespace
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
  store.written(writeFiles([await store.clientFile(name, options.namespace ?? ctx.endpoint.namespace, trustBundle(state), client)]));
}

export interface RotateOptions {
  /** Start a CA rotation: a new CA that the daemon trusts beside the old one. */
  readonly ca?: boolean;
  /** End a CA rotation: the server moves to the new CA and the old CA is dropped. */
  readonly finishCa?: boolean;
  /** @default 365 */
  readonly serverDays?: number;
  /** @default 3650 */
  readonly caDays?: number;
}

/**
 * `rotate`: a new server certificate from the same CA.
 * `rotate --ca`: phase one of a CA rotation. The daemon trusts both CAs, so old and new clients connect;
 * the server keeps its certificate from the old CA, which every client (old ones, and new ones whose
 * ca.pem holds both) verifies. The in-cluster client moves to the new CA at once.
 * `rotate --finish-ca`: phase two, once every client is re-issued: the server moves to the new CA and
 * the old CA is no longer trusted.
 */
export async function rotate(ctx: CertsContext, options: RotateOptions = {}): Promise<void> {
  if (options.ca && options.finishCa) throw new Error('rotate takes --ca or --finish-ca, not both');
  const store = new SecretsStore(ctx);
  const state = await store.readCa();
  const serverDays = options.serverDays ?? DEFAULT_DAYS.server;

  if (!options.ca && !options.finishCa) {
    store.written(writeFiles([await store.daemonFile(trustBundle(state), serverCertificate(ctx, state.ca, serverDays))]));
    return;
  }
  if (options.ca) {
    if (state.previousCaPem) throw new Error('a CA rotation is under way: run rotate --finish-ca first');
    const daemon = await store.read(store.p.daemon, DAEMON_HINT);
    const next: CaState = { ca: createCa({ commonName: 'buildkit-service CA', validityDays: options.caDays ?? DEFAULT_DAYS.ca, now: ctx.now, keyPair: ctx.newKeyPair?.() }), previousCaPem: state.ca.certPem };
    store.written(writeFiles([
      await store.caFile(next),
      await store.daemonFile(trustBundle(next), { certPem: daemon['cert.pem'], keyPem: daemon['key.pem'] }),
      await store.clientFile(IN_CLUSTER_CLIENT, store.clientNamespace, trustBundle(next), clientCertificate(ctx, next.ca, IN_CLUSTER_CLIENT, DEFAULT_DAYS.client)),
    ]));
    ctx.log('next: re-issue every client (issue-client NAME --renew), then rotate --finish-ca');
    return;
  }
  if (!state.previousCaPem) throw new Error('no CA rotation is under way: start one with rotate --ca');
  const finished: CaState = { ca: state.ca };
  store.written(writeFiles([
    await store.caFile(finished),
    await store.daemonFile(trustBundle(finished), serverCertificate(ctx, finished.ca, serverDays)),
  ]));
}

export interface SyncOptions {
  /** @default 365 */
  readonly serverDays?: number;
}

/** The name, namespace and annotations of an encrypted Secret, read without the key. */
function plainMetadata(path: string): { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } {
  return (readSopsFile(readText(path, '')).tree as any).metadata ?? {};
}

/**
 * `sync`: brings secrets/ in line with config.ts after a change of namespace, names, IPs or ports: every
 * Secret's name and namespace (the daemon's file follows its Secret's name), apps/namespace.yaml, and a new
 * server certificate, from the same CA, only when the current one does not cover what the chart serves.
 * Client bundles in the service's old namespace move with it; files already in line are not rewritten.
 */
export async function sync(ctx: CertsContext, options: SyncOptions = {}): Promise<void> {
  const store = new SecretsStore(ctx);
  const { p } = store;
  const state = await store.readCa();
  const previousPath = store.findDaemonFile();
  const before = plainMetadata(previousPath);
  const daemon = await store.read(previousPath, DAEMON_HINT);
  let server: CertifiedKey = { certPem: daemon['cert.pem'], keyPem: daemon['key.pem'] };
  const sans = serverSans(ctx.endpoint);
  const covered = new Set(certificateSans(server.certPem));
  const missing = [...sans.dnsNames.map((n) => `DNS:${n}`), ...sans.ips.map((ip) => `IP:${ip}`)].filter((s) => !covered.has(s));
  if (missing.length > 0) {
    if (state.previousCaPem) {
      throw new Error(`the server certificate misses ${missing.join(', ')}, but a CA rotation is under way and clients not yet renewed `
        + 'trust only the old CA: finish it (issue-client NAME --renew for each client, then rotate --finish-ca), then run sync');
    }
    server = serverCertificate(ctx, state.ca, options.serverDays ?? DEFAULT_DAYS.server);
    ctx.log(`new server certificate: the old one missed ${missing.join(', ')}`);
  }

  const moved = (path: string, name: string, namespace: string) => {
    const m = plainMetadata(path);
    return m.name !== name || m.namespace !== namespace;
  };
  const files = [store.namespaceFile()];
  if (moved(p.ca, 'buildkit-ca', ctx.endpoint.namespace)) files.push(await store.caFile(state));
  const annotated = before.annotations?.[SANS_ANNOTATION] === certificateSans(server.certPem).join(',');
  if (previousPath !== p.daemon || moved(p.daemon, store.daemonSecretName, ctx.endpoint.namespace) || !annotated || missing.length > 0) {
    files.push(await store.daemonFile(daemon['ca.pem'], server));
  }
  const clients = [IN_CLUSTER_CLIENT, ...store.clientNames()];
  for (const name of clients) {
    const path = p.client(name);
    const namespace = name === IN_CLUSTER_CLIENT ? store.clientNamespace : plainMetadata(path).namespace;
    // A bundle issued into the service's namespace follows it; one given another namespace keeps it.
    const target = name !== IN_CLUSTER_CLIENT && namespace === before.namespace ? ctx.endpoint.namespace : namespace!;
    if (!existsSync(path) || !moved(path, plainMetadata(path).name!, target)) continue;
    const data = await store.read(path, '');
    files.push(await store.clientFile(name, target, data['ca.pem'], { certPem: data['cert.pem'], keyPem: data['key.pem'] }));
  }
  store.written(writeFiles(files));
  if (previousPath !== p.daemon) {
    rmSync(previousPath);
    ctx.log(`removed ${store.rel(previousPath)}: the daemon's Secret is now ${store.daemonSecretName}`);
  }
}

export interface ExportResult {
  readonly dir: string;
  readonly commands: string[];
}

/** Decrypts a client bundle into dir (ca.pem, cert.pem, key.pem, mode 0600, as buildctl --tlsdir reads). */
export async function exportClient(ctx: CertsContext, name: string, outDir: string): Promise<ExportResult> {
  const store = new SecretsStore(ctx);
  const data = await store.read(store.p.client(name), `issue it first: npm run certs -- issue-client ${name}`);
  const dir = resolve(outDir);
  store.written(writeFiles(['ca.pem', 'cert.pem', 'key.pem'].map((f) => ({ path: join(dir, f), content: data[f], mode: 0o600 }))));
  const address = `tcp://${ctx.endpoint.ips[0]}:${ctx.endpoint.port}`;
  const commands = [
    `docker buildx create --name buildkit-builder --driver remote --driver-opt cacert=${dir}/ca.pem,cert=${dir}/cert.pem,key=${dir}/key.pem ${address}`,
    `buildctl --addr ${address} --tlscacert ${dir}/ca.pem --tlscert ${dir}/cert.pem --tlskey ${dir}/key.pem build --frontend dockerfile.v0 --local context=. --local dockerfile=.`,
  ];
  return { dir, commands };
}

export interface CheckResult {
  readonly reports: CertificateReport[];
  readonly ok: boolean;
}

/** Decrypts every certificate and reports on it against what the chart serves now. */
export async function check(ctx: CertsContext, minDaysLeft = 30): Promise<CheckResult> {
  const store = new SecretsStore(ctx);
  const state = await store.readCa();
  const daemon = await store.read(store.p.daemon, DAEMON_HINT);
  const common = { now: ctx.now, minDaysLeft };
  const reports = [
    checkCertificate({ ...common, label: 'CA', certPem: state.ca.certPem, keyPem: state.ca.keyPem, caPem: state.ca.certPem }),
    checkCertificate({ ...common, label: `server (${store.daemonSecretName})`, certPem: daemon['cert.pem'], keyPem: daemon['key.pem'], caPem: trustBundle(state), mustCover: serverSans(ctx.endpoint) }),
  ];
  const daemonTrust = new Set(splitPemBundle(daemon['ca.pem']).map((p) => p.trim()));
  if (!daemonTrust.has(state.ca.certPem.trim())) reports[1].problems.push('the daemon does not trust the current CA: run rotate');
  // What synth and CI read without the key must be what the certificate says.
  if (plainMetadata(store.p.daemon).annotations?.[SANS_ANNOTATION] !== certificateSans(daemon['cert.pem']).join(',')) {
    reports[1].problems.push(`its ${SANS_ANNOTATION} annotation does not list the certificate's SANs: run \`npm run certs -- sync\``);
  }
  const clients = [IN_CLUSTER_CLIENT, ...store.clientNames()];
  for (const name of clients) {
    if (!existsSync(store.p.client(name))) continue;
    const data = await store.read(store.p.client(name), '');
    // A client must chain to a CA the daemon trusts, and verify the server with its own ca.pem.
    const report = checkCertificate({ ...common, label: `client ${name}`, certPem: data['cert.pem'], keyPem: data['key.pem'], caPem: daemon['ca.pem'] });
    const serverCheck = checkCertificate({ ...common, label: '', certPem: daemon['cert.pem'], caPem: data['ca.pem'] });
    if (serverCheck.problems.includes('does not chain to the CA')) report.problems.push('its ca.pem does not verify the server certificate');
    reports.push(report);
  }
  return { reports, ok: reports.every((r) => r.problems.length === 0) };
}
