import { existsSync, rmSync } from 'node:fs';
import { checkCertificate } from '../pki/check';
import type { FileWrite } from './files';
import {
  type Bundle,
  type CaState,
  type CertsContext,
  caGeneration,
  chainsTo,
  clientCertificate,
  DEFAULT_DAYS,
  newCa,
  serverCertificate,
  trustBundle,
} from './issuing';
import { CertsUsageError, IN_CLUSTER_CLIENT, secretPlace } from './layout';
import { SERVER_HINT, SecretsStore } from './secrets-store';

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
    if (state.previousCaPem)
      throw new Error(
        'a CA rotation is under way: a server certificate from the new CA would fail clients not yet renewed; finish it first (`npm run certs -- rotate --finish-ca`)',
      );
    const files: FileWrite[] = [];
    for (const server of ctx.plan.servers) {
      const path = store.findServerFile(server);
      const old = await store.read(path, SERVER_HINT).catch(() => undefined);
      const problems = old
        ? checkCertificate({
            label: '',
            certPem: old['cert.pem'],
            keyPem: old['key.pem'],
            caPem: state.ca.certPem,
            now: ctx.now,
            minDaysLeft: 0,
          }).problems
        : ['unreadable'];
      if (problems.length > 0)
        ctx.log(`replacing the server certificate of ${server.secretName}, which had problems: ${problems.join('; ')}`);
      files.push(await store.serverFile(server, trustBundle(state), serverCertificate(ctx, server, state.ca, serverDays)));
    }
    store.commit(files);
    return;
  }
  if (options.ca) {
    if (state.previousCaPem) throw new Error('a CA rotation is under way: run `npm run certs -- rotate --finish-ca` first');
    await startCaRotation(ctx, store, state, options.caDays ?? DEFAULT_DAYS.ca, []);
    ctx.log(
      'next: re-issue every client (`npm run certs -- issue-client NAME --renew`), export and hand them out, then `npm run certs -- rotate --finish-ca`',
    );
    return;
  }
  await finishCaRotation(ctx, store, state, serverDays, options.force ?? false);
}

/** Phase one: a new CA generation the daemons trust beside the old one; the in-cluster client and `reissue` move to it. */
async function startCaRotation(
  ctx: CertsContext,
  store: SecretsStore,
  state: CaState,
  caDays: number,
  reissue: readonly string[],
): Promise<CaState> {
  const next: CaState = { ca: newCa(ctx, caGeneration(state.ca.certPem) + 1, caDays), previousCaPem: state.ca.certPem };
  const files = [await store.caFile(next)];
  for (const server of ctx.plan.servers) {
    const data = await store.read(store.findServerFile(server), SERVER_HINT);
    files.push(await store.serverFile(server, trustBundle(next), { certPem: data['cert.pem'], keyPem: data['key.pem'] }));
  }
  for (const name of [IN_CLUSTER_CLIENT, ...reissue]) {
    const namespace = name === IN_CLUSTER_CLIENT ? ctx.plan.clientNamespace : secretPlace(store.p.client(name)).namespace;
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
  if (!state.previousCaPem) throw new Error('no CA rotation is under way: start one with `npm run certs -- rotate --ca`');
  const clients = new Map<string, Bundle>();
  for (const name of [IN_CLUSTER_CLIENT, ...store.clientNames()]) {
    if (existsSync(store.p.client(name))) clients.set(name, await store.read(store.p.client(name), ''));
  }
  const stranded = [...clients].filter(([, data]) => !chainsTo(data['cert.pem'], state.ca.certPem)).map(([name]) => name);
  if (stranded.length > 0 && !force) {
    throw new Error(
      `rotate --finish-ca would strand ${stranded.join(', ')}, which still chain to the retiring CA ${caGeneration(state.previousCaPem)}: ` +
        `re-issue each with \`npm run certs -- issue-client NAME --renew\` (or \`npm run certs -- revoke NAME\`), or pass --force to cut them off`,
    );
  }
  const finished: CaState = { ca: state.ca };
  const files = [await store.caFile(finished)];
  for (const server of ctx.plan.servers) {
    files.push(await store.serverFile(server, trustBundle(finished), serverCertificate(ctx, server, finished.ca, serverDays)));
  }
  const handOut: string[] = [];
  for (const [name, data] of clients) {
    if (stranded.includes(name)) continue;
    const namespace = secretPlace(store.p.client(name)).namespace;
    files.push(await store.clientFile(name, namespace, finished.ca.certPem, { certPem: data['cert.pem'], keyPem: data['key.pem'] }));
    if (name !== IN_CLUSTER_CLIENT) handOut.push(name);
  }
  store.commit(files);
  if (stranded.length > 0) ctx.log(`cut off (forced): ${stranded.join(', ')}`);
  if (handOut.length > 0) {
    ctx.log(
      `their ca.pem now trusts only the new CA: export and hand out again ${handOut.map((n) => `\`npm run certs -- export ${n} --out DIR\``).join(', ')}`,
    );
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
  if (name === IN_CLUSTER_CLIENT)
    throw new CertsUsageError(
      `the ${IN_CLUSTER_CLIENT} client is renewed by every CA rotation: run \`npm run certs -- rotate --ca\`, then \`npm run certs -- rotate --finish-ca\``,
    );
  if (!existsSync(path)) throw new CertsUsageError(`no client ${name} (${store.rel(path)})`);
  const state = await store.readCa();
  if (state.previousCaPem) throw new Error('a CA rotation is under way: finish it (`npm run certs -- rotate --finish-ca`), then revoke');
  const others = store.clientNames().filter((n) => n !== name);
  await startCaRotation(ctx, store, state, options.caDays ?? DEFAULT_DAYS.ca, others);
  rmSync(path);
  store.unpublish(path);
  ctx.log(`removed ${store.rel(path)}`);
  ctx.log(
    others.length
      ? `hand out again: ${others.map((n) => `\`npm run certs -- export ${n} --out DIR\``).join(', ')}; then \`npm run certs -- rotate --finish-ca\`, after which ${name} is refused`
      : `next: \`npm run certs -- rotate --finish-ca\`, after which ${name} is refused`,
  );
  return others;
}
