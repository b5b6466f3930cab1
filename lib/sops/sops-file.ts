import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { armor, Decrypter, Encrypter } from 'age-encryption';
import { dump } from 'js-yaml';
import type { Tree, Value } from './metadata';
import { readSopsFile, SopsError, type SopsMetadata } from './metadata';

/**
 * The SOPS file format (getsops/sops) for age recipients: every value under a key matching the
 * encrypted regex becomes ENC[AES256_GCM,...] under one data key, its path as additional data; a SHA-512
 * over all values, encrypted with the last-modified time as additional data, is the MAC; the data key is
 * age-encrypted once per recipient. Files written here open with `sops edit` and Flux's decryption.
 */

export interface EncryptOptions {
  /** age recipients (age1...) that can decrypt the file. */
  readonly recipients: readonly string[];
  /** Values under a key matching this are encrypted. */
  readonly encryptedRegex: string;
  /** Becomes sops.lastmodified, the MAC's additional data. */
  readonly now: Date;
}

const ENC = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(str|int|float|bool|bytes|comment)\]$/;
/** The sops release whose file layout this writes (2-space indent, no empty key-service lists). */
const SOPS_FORMAT_VERSION = '3.10.2';

/** The bytes sops hashes and encrypts for a value (Go's sops.ToBytes). */
function toBytes(value: Value, path: string): { bytes: Buffer; type: string } {
  if (typeof value === 'string') return { bytes: Buffer.from(value, 'utf8'), type: 'str' };
  if (typeof value === 'boolean') return { bytes: Buffer.from(value ? 'True' : 'False'), type: 'bool' };
  if (typeof value === 'number') return { bytes: Buffer.from(String(value)), type: Number.isInteger(value) ? 'int' : 'float' };
  throw new SopsError(`cannot encrypt the ${value === null ? 'null' : typeof value} value at ${path}: use a string`);
}

function fromBytes(bytes: Buffer, type: string): Value {
  const text = bytes.toString('utf8');
  switch (type) {
    case 'int':
    case 'float':
      return Number(text);
    case 'bool':
      return text === 'True';
    default:
      return text;
  }
}

function additionalData(path: readonly string[]): string {
  return path.map((p) => `${p}:`).join('');
}

/** Visits every leaf in document order with its key path (list items share their list's path), as sops does. */
function mapLeaves(node: Value, path: string[], visit: (leaf: Value, path: string[]) => Value): Value {
  if (Array.isArray(node)) return node.map((item) => mapLeaves(item, path, visit));
  if (node !== null && typeof node === 'object') {
    const out: Tree = {};
    for (const [key, child] of Object.entries(node)) out[key] = mapLeaves(child, [...path, key], visit);
    return out;
  }
  return visit(node, path);
}

function encryptValue(bytes: Buffer, type: string, key: Buffer, aad: string): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(bytes), cipher.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${cipher.getAuthTag().toString('base64')},type:${type}]`;
}

function decryptValue(enc: string, key: Buffer, aad: string, where: string): { bytes: Buffer; type: string } {
  const m = ENC.exec(enc);
  if (!m) throw new SopsError(`${where}: not a sops AES256_GCM value`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2], 'base64'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(m[3], 'base64'));
  try {
    return { bytes: Buffer.concat([decipher.update(Buffer.from(m[1], 'base64')), decipher.final()]), type: m[4] };
  } catch {
    throw new SopsError(`${where}: authentication failed: the value, its key path or the data key was changed`);
  }
}

function matchesAny(path: readonly string[], regex: RegExp): boolean {
  return path.some((key) => regex.test(key));
}

/** Encrypts a document to a sops YAML file. */
export async function encryptDocument(doc: Tree, options: EncryptOptions): Promise<string> {
  if (options.recipients.length === 0) throw new SopsError('no age recipients: add at least one to secrets/.sops.yaml');
  if ('sops' in doc) throw new SopsError('the document already has a top-level "sops" key');
  const dataKey = randomBytes(32);
  const regex = new RegExp(options.encryptedRegex);
  const hash = createHash('sha512');
  const encrypted = mapLeaves(doc, [], (leaf, path) => {
    const { bytes, type } = toBytes(leaf, path.join('.'));
    hash.update(bytes);
    return matchesAny(path, regex) ? encryptValue(bytes, type, dataKey, additionalData(path)) : leaf;
  }) as Tree;
  const lastmodified = options.now.toISOString().replace(/\.\d{3}Z/, 'Z');
  const age = [];
  for (const recipient of options.recipients) {
    const encrypter = new Encrypter();
    encrypter.addRecipient(recipient);
    age.push({ recipient, enc: armor.encode(await encrypter.encrypt(dataKey)) });
  }
  const mac = encryptValue(Buffer.from(hash.digest('hex').toUpperCase()), 'str', dataKey, lastmodified);
  const sops = { age, lastmodified, mac, encrypted_regex: options.encryptedRegex, version: SOPS_FORMAT_VERSION };
  // lineWidth -1: one line per value, as sops writes it. No object is shared (mapLeaves copies), so no anchors.
  return dump({ ...encrypted, sops }, { lineWidth: -1 });
}

/**
 * One Decrypter per set of identities, kept for the process: adding an identity derives its public key (an
 * X25519 multiplication), which each file and each of its recipients would otherwise repeat.
 */
const decrypters = new Map<string, Decrypter>();
function decrypterFor(identities: readonly string[]): Decrypter {
  const key = identities.join('\n');
  let decrypter = decrypters.get(key);
  if (!decrypter) {
    decrypter = new Decrypter();
    for (const id of identities) decrypter.addIdentity(id);
    decrypters.set(key, decrypter);
  }
  return decrypter;
}

async function unwrapDataKey(sops: SopsMetadata, identities: readonly string[]): Promise<Buffer> {
  const decrypter = decrypterFor(identities);
  for (const entry of sops.age ?? []) {
    try {
      return Buffer.from(await decrypter.decrypt(armor.decode(entry.enc)));
    } catch {
      // not one of ours: try the next recipient
    }
  }
  const recipients = (sops.age ?? []).map((a) => a.recipient).join(', ') || 'none';
  throw new SopsError(`no age identity given decrypts this file (encrypted to ${recipients})`);
}

/** Decrypts a sops file (YAML or JSON) and verifies its MAC; throws SopsError on any tampering. */
export async function decryptDocument(text: string, identities: readonly string[]): Promise<Tree> {
  const { tree, sops } = readSopsFile(text);
  const dataKey = await unwrapDataKey(sops, identities);
  const hash = createHash('sha512');
  const decrypted = mapLeaves(tree, [], (leaf, path) => {
    const where = path.join('.') || '(root)';
    if (typeof leaf === 'string' && leaf.startsWith('ENC[')) {
      const { bytes, type } = decryptValue(leaf, dataKey, additionalData(path), where);
      if (type !== 'comment') hash.update(bytes);
      return fromBytes(bytes, type);
    }
    if (!sops.mac_only_encrypted) hash.update(toBytes(leaf, where).bytes);
    return leaf;
  }) as Tree;
  const mac = decryptValue(sops.mac, dataKey, sops.lastmodified, 'sops.mac').bytes.toString();
  if (mac !== hash.digest('hex').toUpperCase()) {
    throw new SopsError('MAC mismatch: the file was changed outside sops (a value added, removed or edited)');
  }
  return decrypted;
}

export { readSopsFile, recipientsOf, SopsError } from './metadata';
