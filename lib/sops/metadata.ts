// Reading a sops file's structure and metadata needs no key and no crypto: synth uses this alone.
import { parseYaml } from '../yaml-file';

export type Tree = { [key: string]: Value };
export type Value = string | number | boolean | null | Value[] | Tree;

export class SopsError extends Error {}

export interface SopsMetadata {
  age?: Array<{ recipient: string; enc: string }>;
  lastmodified: string;
  mac: string;
  encrypted_regex?: string;
  mac_only_encrypted?: boolean;
}

/** The parsed file and its sops metadata, without decrypting anything. */
export function readSopsFile(text: string, where = ''): { tree: Tree; sops: SopsMetadata } {
  const parsed = parseYaml(text, where) as Tree | undefined;
  const sops = parsed?.sops as unknown as SopsMetadata | undefined;
  if (!parsed || typeof sops !== 'object' || typeof sops.mac !== 'string' || typeof sops.lastmodified !== 'string') {
    throw new SopsError('not a sops file: no sops metadata with mac and lastmodified');
  }
  const { sops: _metadata, ...tree } = parsed;
  return { tree, sops };
}

/** The recipients a file is encrypted to. */
export function recipientsOf(text: string): string[] {
  return (readSopsFile(text).sops.age ?? []).map((a) => a.recipient);
}
