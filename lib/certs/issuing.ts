import { X509Certificate } from 'node:crypto';
import { type CertifiedKey, createCa, issueClientCertificate, issueServerCertificate, type KeyPair } from '../pki/issue';
import type { CertsPlan, ServerPlan } from './plan';

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
  /**
   * The tenant served, whose Flux decryption Secret and buildx builders carry its name.
   * @default - none: the repository has no tenants
   */
  readonly tenant?: string;
}

export interface Validity {
  /** @default 3650 */
  readonly caDays?: number;
  /** @default 365 */
  readonly serverDays?: number;
  /** @default 365 */
  readonly clientDays?: number;
}

/** Validity in days: a long-lived CA that stays in git encrypted, short-lived certificates that rotate. */
export const DEFAULT_DAYS = { ca: 3650, server: 365, client: 365 };
const CA_NAME = 'buildkit-service CA';

/** The CA a repository signs with, and the one it is retiring during a rotation. */
export interface CaState {
  ca: CertifiedKey;
  previousCaPem?: string;
}
export type Bundle = Record<string, string>;

/** Each CA generation has its own subject, so a chain says which CA a certificate belongs to. */
export function caGeneration(caPem: string): number {
  return Number(/CN=buildkit-service CA (\d+)/.exec(new X509Certificate(caPem).subject)?.[1] ?? 1);
}

export function caLabel(caPem: string, state: CaState): string {
  const generation = `CA ${caGeneration(caPem)}`;
  return caPem.trim() === state.ca.certPem.trim() ? `${generation} (current)` : `${generation} (retiring)`;
}

/** The CA certificates a client or the daemon trusts: the current CA, and the previous one mid-rotation. */
export function trustBundle(state: CaState): string {
  return state.ca.certPem + (state.previousCaPem ?? '');
}

export function serverCertificate(ctx: CertsContext, server: ServerPlan, ca: CertifiedKey, days: number): CertifiedKey {
  return issueServerCertificate(ca, {
    commonName: server.commonName,
    dnsNames: server.dnsNames,
    ips: server.ips,
    validityDays: days,
    now: ctx.now,
    keyPair: ctx.newKeyPair?.(),
  });
}

export function clientCertificate(ctx: CertsContext, ca: CertifiedKey, name: string, days: number): CertifiedKey {
  return issueClientCertificate(ca, {
    commonName: `buildkit-client-${name}`,
    validityDays: days,
    now: ctx.now,
    keyPair: ctx.newKeyPair?.(),
  });
}

export function newCa(ctx: CertsContext, generation: number, days: number): CertifiedKey {
  return createCa({ commonName: `${CA_NAME} ${generation}`, validityDays: days, now: ctx.now, keyPair: ctx.newKeyPair?.() });
}

/** Does the certificate chain to this CA? */
export function chainsTo(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}
