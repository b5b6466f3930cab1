import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { certificateSans } from '../pki/check';
import type { CertifiedKey } from '../pki/issue';
import { parseIdentities } from '../sops/age-keys';
import type { Tree } from '../sops/metadata';
import { decryptDocument, encryptDocument } from '../sops/sops-file';
import { parseYaml } from '../yaml-file';
import { completeJournal, displayPath, type FileWrite, readText, refuseLinks, stagedTemporaries, writeFiles } from './files';
import type { Bundle, CaState, CertsContext } from './issuing';
import {
  CertsUsageError,
  certificateFingerprints,
  decryptionSecret,
  FINGERPRINTS_ANNOTATION,
  IN_CLUSTER_CLIENT,
  IN_CLUSTER_SECRET,
  MANAGED_BY_LABEL,
  PUBLIC_COPIES,
  paths,
  plainMetadata,
  SANS_ANNOTATION,
} from './layout';
import type { CertsPlan, ServerPlan } from './plan';

const ENCRYPTED_REGEX = '^(data|stringData)$';
/** Where a lost age identity comes back from: a backup, or the Secret Flux decrypts with (a tenant's own). */
export const restoreHint = (tenant?: string) =>
  `from your backup, or from the cluster: kubectl -n flux-system get secret ${decryptionSecret(tenant)} -o jsonpath='{.data.age\\.agekey}' | base64 -d`;
export const SERVER_HINT = 'run `npm run certs -- sync` if the app names another Secret than before, else `npm run certs -- init`';
const AGE_RECIPIENT = /^age1[0-9a-z]{58}$/;

export function checkRecipients(recipients: readonly string[]): void {
  for (const r of recipients)
    if (!AGE_RECIPIENT.test(r)) throw new CertsUsageError(`invalid age recipient ${JSON.stringify(r)}: use an age1... public key`);
}

function secret(
  name: string,
  namespace: string,
  stringData: Bundle,
  labels: Record<string, string> = {},
  annotations?: Record<string, string>,
) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: 'buildkit-service', ...labels }, ...(annotations ? { annotations } : {}) },
    type: 'Opaque',
    stringData,
  };
}

/**
 * The namespaces the Secrets go into, for GitOps tools that apply secrets/apps before dist/ (Flux's
 * Kustomization for dist/ depends on the Secrets). Flux creates them only when missing and never prunes
 * them: dist/ owns the service's namespace and its labels, the CI runners' namespace belongs to its team.
 */
function namespaceSeed(plan: CertsPlan): string {
  return plan.namespaces
    .map(({ name, labels }) =>
      dump({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name,
          annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
          ...(labels ? { labels } : {}),
        },
      }),
    )
    .join('---\n');
}

/** secrets/ as the commands read and write it: the age identity, .sops.yaml, and every encrypted bundle with its public copies. */
export class SecretsStore {
  readonly p: ReturnType<typeof paths>;
  constructor(private readonly ctx: CertsContext) {
    refuseLinks(ctx.root);
    this.p = paths(ctx.root);
    // A command killed mid-write left a journal: finish that write first, so secrets/ holds one whole set.
    const completed = completeJournal(this.p.journal);
    if (completed.length)
      ctx.log(`completed a write a killed command left half done (the new set): ${completed.map((f) => this.rel(f)).join(', ')}`);
    else if (stagedTemporaries(ctx.root).length)
      ctx.log('a command was killed before its write began: secrets/ holds the old set (its temporaries go with the next write)');
  }

  rel(path: string): string {
    return displayPath(path);
  }

  identities(): string[] {
    const ids = parseIdentities(
      readText(
        this.p.ageKey,
        `restore the age identity .sops.yaml names (${restoreHint(this.ctx.tenant)}), or run \`npm run certs -- init\` in a new repository`,
      ),
    );
    if (ids.length === 0) throw new Error(`${this.rel(this.p.ageKey)} holds no age identity`);
    return ids;
  }

  recipients(): string[] {
    const text = readText(this.p.sopsConfig, 'run `npm run certs -- init`');
    const config = parseYaml(text, this.rel(this.p.sopsConfig)) as { creation_rules?: Array<{ age?: unknown }> } | null | undefined;
    const age = config?.creation_rules?.[0]?.age;
    const list = (Array.isArray(age) ? age.map(String) : String(age ?? '').split(',')).map((r) => r.trim()).filter(Boolean);
    if (list.length === 0) throw new Error(`${this.rel(this.p.sopsConfig)} names no age recipients`);
    return list;
  }

  sopsConfig(recipients: readonly string[]): FileWrite {
    checkRecipients(recipients);
    return {
      path: this.p.sopsConfig,
      content: dump({ creation_rules: [{ path_regex: '\\.yaml$', encrypted_regex: ENCRYPTED_REGEX, age: recipients.join(',') }] }),
    };
  }

  async readDocument(path: string, hint: string): Promise<Tree> {
    return decryptDocument(readText(path, hint), this.identities()).catch((err: Error) => {
      throw new Error(`${this.rel(path)}: ${err.message}`);
    });
  }

  async read(path: string, hint: string): Promise<Bundle> {
    return (await this.readDocument(path, hint)).stringData as Bundle;
  }

  async encrypt(doc: Tree, recipients = this.recipients()): Promise<string> {
    return encryptDocument(doc, { recipients, encryptedRegex: ENCRYPTED_REGEX, now: this.ctx.now });
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
  async bundleFile(path: string, doc: ReturnType<typeof secret>): Promise<FileWrite> {
    this.publish(path, doc.stringData);
    const annotations = { ...doc.metadata.annotations, [FINGERPRINTS_ANNOTATION]: certificateFingerprints(doc.stringData) };
    return { path, content: await this.encrypt({ ...doc, metadata: { ...doc.metadata, annotations } }) };
  }

  /** Does the file's fingerprint annotation name exactly these certificates? */
  fingerprinted(path: string, data: Bundle): boolean {
    return plainMetadata(path).annotations?.[FINGERPRINTS_ANNOTATION] === certificateFingerprints(data);
  }

  /** Queues the public copies of a bundle's certificates, and the removal of copies it no longer holds. */
  publish(path: string, data: Bundle): void {
    const dir = this.p.publicOf(path);
    const certs = Object.keys(data).filter((k) => k.endsWith('.pem') && k !== 'key.pem');
    for (const key of certs) this.publicWrites.push({ path: join(dir, key), content: data[key] });
    // Only copies this tool writes go: anything else in the folder is someone else's.
    for (const f of PUBLIC_COPIES) if (!certs.includes(f) && existsSync(join(dir, f))) this.publicRemovals.push(join(dir, f));
  }

  /** The public copies of a bundle whose encrypted file is removed. */
  unpublish(path: string): void {
    const dir = this.p.publicOf(path);
    for (const f of PUBLIC_COPIES) rmSync(join(dir, f), { force: true });
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  }

  /** Writes the files and the public copies of the bundles among them, all or nothing. */
  commit(files: readonly FileWrite[]): void {
    this.written(
      writeFiles([...files, ...this.publicWrites.splice(0)], { journal: this.p.journal, remove: this.publicRemovals.splice(0) }),
    );
  }

  /**
   * A bundle's certificates: decrypted (and compared with their public copies) when the age key is here,
   * else the public copies alone.
   */
  async certificates(path: string, hint: string): Promise<{ data: Bundle; problems: string[] }> {
    if (!existsSync(path)) readText(path, hint); // names the missing file and how to restore it
    const dir = this.p.publicOf(path);
    const copies: Bundle = {};
    for (const key of PUBLIC_COPIES) if (existsSync(join(dir, key))) copies[key] = readFileSync(join(dir, key), 'utf8');
    const sync = 'run `npm run certs -- sync` where the key is';
    // The annotation is covered by the file's MAC: what a public copy must hash to, readable without the key.
    const recorded = plainMetadata(path).annotations?.[FINGERPRINTS_ANNOTATION];
    if (!this.hasKey()) {
      if (!copies['ca.pem'])
        throw new Error(
          `${this.rel(join(dir, 'ca.pem'))} is missing, and without the age key nothing else shows the certificates: ${sync}`,
        );
      if (recorded === undefined)
        return { data: copies, problems: [`${this.rel(path)} records no certificate fingerprints to check its public copies by: ${sync}`] };
      const expected = new Map(recorded.split(',').map((entry) => entry.split('=') as [string, string]));
      const actual = new Map(
        certificateFingerprints(copies)
          .split(',')
          .filter(Boolean)
          .map((entry) => entry.split('=') as [string, string]),
      );
      const differ = [...new Set([...expected.keys(), ...actual.keys()])].filter((f) => expected.get(f) !== actual.get(f)).sort();
      return {
        data: copies,
        problems: differ.map((f) => `${this.rel(join(dir, f))} does not match the fingerprint ${this.rel(path)} records: ${sync}`),
      };
    }
    const data = await this.read(path, hint);
    const stale = Object.keys(data).filter((k) => PUBLIC_COPIES.includes(k) && copies[k] !== data[k]);
    const problems = stale.map((k) => `${this.rel(join(dir, k))} does not match the encrypted copy: run \`npm run certs -- sync\``);
    if (recorded !== certificateFingerprints(data))
      problems.push(
        `${this.rel(path)}: its ${FINGERPRINTS_ANNOTATION} annotation does not match its certificates: run \`npm run certs -- sync\``,
      );
    return { data, problems };
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
    const doc = secret(
      server.secretName,
      server.namespace,
      { 'ca.pem': trustPem, 'cert.pem': cert.certPem, 'key.pem': cert.keyPem },
      {},
      { [SANS_ANNOTATION]: certificateSans(cert.certPem).join(',') },
    );
    return this.bundleFile(this.p.server(server.secretName), doc);
  }

  namespaceFile(): FileWrite {
    return { path: this.p.namespace, content: namespaceSeed(this.ctx.plan) };
  }

  async clientFile(name: string, namespace: string, trustPem: string, client: CertifiedKey): Promise<FileWrite> {
    const secretName = name === IN_CLUSTER_CLIENT ? IN_CLUSTER_SECRET : `buildkit-client-${name}`;
    const doc = secret(
      secretName,
      namespace,
      { 'ca.pem': trustPem, 'cert.pem': client.certPem, 'key.pem': client.keyPem },
      { 'buildkit-service/client': name },
    );
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
      throw new Error(
        `${this.rel(expected)} is missing and no other daemon Secret file is in ${this.rel(this.p.apps)}: restore it from git`,
      );
    }
    if (strays.length !== 1 || missing.length !== 1) {
      throw new Error(
        `${this.rel(expected)} is missing and ${strays.length} other daemon Secret files could be it: ` +
          `rename the one for Secret ${server.secretName} to ${this.rel(expected)}, then run \`npm run certs -- sync\``,
      );
    }
    return strays[0];
  }

  /** Every daemon Secret file in apps/: ours, and not a client's. */
  serverFiles(): string[] {
    return (existsSync(this.p.apps) ? readdirSync(this.p.apps).sort() : [])
      .map((f) => join(this.p.apps, f))
      .filter((f) => f.endsWith('.yaml') && f !== this.p.namespace)
      .filter((f) => {
        const m = plainMetadata(f);
        return m.labels?.[MANAGED_BY_LABEL] === 'buildkit-service' && m.labels['buildkit-service/client'] === undefined;
      });
  }

  /** Names of the client bundles in clients/. */
  clientNames(): string[] {
    return existsSync(this.p.clients)
      ? readdirSync(this.p.clients)
          .filter((f) => f.endsWith('.yaml'))
          .map((f) => f.slice(0, -5))
          .sort()
      : [];
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
