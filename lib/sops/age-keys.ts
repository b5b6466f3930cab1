import { generateX25519Identity, identityToRecipient } from 'age-encryption';

const IDENTITY = /^AGE-SECRET-KEY-[1][0-9A-Z]+$/;

/** The identities in an age key file (`age-keygen` format: comments, then one identity line per key). */
export function parseIdentities(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => IDENTITY.test(l));
}

/** A new X25519 identity in age-keygen's file format, and its recipient. */
export async function newIdentityFile(now: Date): Promise<{ text: string; recipient: string }> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  return { text: `# created: ${now.toISOString()}\n# public key: ${recipient}\n${identity}\n`, recipient };
}

export async function recipientOf(identity: string): Promise<string> {
  return identityToRecipient(identity);
}
