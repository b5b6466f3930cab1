import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { type KeyPair, newKeyPair } from '../../lib/pki/issue';

/**
 * Where made keys are kept between runs: git-ignored, beside tsc's incremental state, private to this
 * checkout. These keys only ever sign throwaway test certificates.
 */
const CACHE = join(__dirname, '..', '..', 'node_modules', '.cache', 'buildkit-test-keys.json');

function cached(): string[] {
  try {
    return JSON.parse(readFileSync(CACHE, 'utf8'));
  } catch {
    return [];
  }
}

function fromPem(pem: string): KeyPair {
  const privateKey = forge.pki.privateKeyFromPem(pem);
  return { privateKey, publicKey: forge.pki.setRsaPublicKey(privateKey.n, privateKey.e) };
}

/**
 * Real RSA keys, handed out in turn: RSA keygen is most of a certificate command's time, and only
 * test/pki.test.ts tests it. Any `size` consecutive keys are distinct, so a rotated CA never gets its
 * predecessor's key. Made once and kept in node_modules/.cache, so later runs (and other test files)
 * read them instead of making them again.
 */
export function keyPool(size = 6): () => KeyPair {
  const keys: KeyPair[] = [];
  let next = 0;
  return () => {
    if (keys.length < size) {
      const pems = cached();
      if (pems.length > keys.length) keys.push(fromPem(pems[keys.length]));
      else {
        const made = newKeyPair();
        keys.push(made);
        try {
          // Another worker may write at the same time: each write is whole (rename), the longer list wins next time.
          mkdirSync(join(CACHE, '..'), { recursive: true });
          const tmp = `${CACHE}.${process.pid}`;
          writeFileSync(tmp, JSON.stringify([...pems, forge.pki.privateKeyToPem(made.privateKey)]), { mode: 0o600 });
          renameSync(tmp, CACHE);
        } catch {
          // A read-only checkout: keep making keys.
        }
      }
    }
    return keys[next++ % size];
  };
}
