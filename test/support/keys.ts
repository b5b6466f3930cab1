import { type KeyPair, newKeyPair } from '../../lib/pki/issue';

/**
 * Real RSA keys, made once per test file and handed out in turn: RSA keygen is most of a certificate
 * command's time, and only test/pki.test.ts tests it. Any `size` consecutive keys are distinct, so a
 * rotated CA never gets its predecessor's key.
 */
export function keyPool(size = 6): () => KeyPair {
  const keys: KeyPair[] = [];
  let next = 0;
  return () => {
    if (keys.length < size) keys.push(newKeyPair());
    return keys[next++ % size];
  };
}
