import { readFileSync } from 'fs';
import { join } from 'path';
import { decryptSops } from 'sops-age';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument, encryptDocument, readSopsFile, recipientsOf } from '../lib/sops/sops-file';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', 'sops', name), 'utf8');
const identities = (name: string) => parseIdentities(fixture(name));

describe('files written by the real sops decrypt and their MACs verify', () => {
  test('example.age.yaml (sops 3.7.1: nested maps, lists, numbers, booleans, comments, unencrypted suffix)', async () => {
    const doc = await decryptDocument(fixture('example.age.yaml'), identities('keys.txt')) as any;
    expect(doc.myapp1).toBe('t00m4nys3cr3tzupdated');
    expect(doc.app2.db).toEqual({ user: 'eve', password: 'c4r1b0u' });
    expect(doc.an_array).toEqual(['secretuser1', 'secretuser2', expect.stringMatching(/^somelongvalueA+$/), 'some other value']);
    expect(doc.somebooleans).toEqual([true, false]);
    expect(doc.number).toBe(1234568000);
    expect(doc.this.is.a.nested.value).toBe('with something secret in it');
    expect(doc.somelist_unencrypted[0]).toBe('all elements of this list');
  });

  test('example.age.json', async () => {
    const doc = await decryptDocument(fixture('example.age.json'), identities('keys.txt')) as any;
    expect(doc.firstName).toBe('John');
  });

  test.each([
    ['flux-algorithms-age.yaml', 'flux-keys-age.txt'],
    ['flux-global-secret.yaml', 'flux-keys-age-global.txt'],
  ])('%s (a Kubernetes Secret with encrypted_regex)', async (file, keys) => {
    const doc = await decryptDocument(fixture(file), identities(keys)) as any;
    expect(doc.kind).toBe('Secret');
    expect(typeof doc.stringData.key).toBe('string');
    expect(doc.stringData.key).not.toMatch(/^ENC\[/);
  });

  test('the wrong key fails with the recipients named', async () => {
    await expect(decryptDocument(fixture('flux-algorithms-age.yaml'), identities('keys.txt')))
      .rejects.toThrow(/no age identity given decrypts this file \(encrypted to age1l44xcng8/);
  });
});

describe('tampering fails decryption with a clear error', () => {
  const original = fixture('example.age.yaml');
  const keys = identities('keys.txt');

  test('a changed ciphertext', async () => {
    const tampered = original.replace('data:KhLDS2R2H/BH32vUit2BGhNONIq8', 'data:KhLDS2R2H/BH32vUit2BGhNONIq9');
    await expect(decryptDocument(tampered, keys)).rejects.toThrow(/^myapp1: authentication failed/);
  });

  test('a value moved to another key path', async () => {
    const tampered = original.replace(/^myapp1:/m, 'myapp2:');
    await expect(decryptDocument(tampered, keys)).rejects.toThrow(/^myapp2: authentication failed/);
  });

  test('an edited unencrypted value (covered by the MAC)', async () => {
    const tampered = original.replace('remain in clear text', 'remain in plain text');
    await expect(decryptDocument(tampered, keys)).rejects.toThrow(/MAC mismatch/);
  });

  test('a removed value', async () => {
    const tampered = original.replace(/^number: .*\n/m, '');
    await expect(decryptDocument(tampered, keys)).rejects.toThrow(/MAC mismatch/);
  });

  test('a changed MAC or last-modified time', async () => {
    const { sops } = readSopsFile(original);
    await expect(decryptDocument(original.replace(sops.lastmodified, '2020-01-01T00:00:00Z'), keys)).rejects.toThrow(/^sops\.mac: authentication failed/);
  });
});

describe('files written here', () => {
  const secret = {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'certs', namespace: 'buildkit' }, type: 'Opaque',
    stringData: { 'ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', count: 3, on: true },
  };
  let identity: string;
  let text: string;
  beforeAll(async () => {
    identity = await generateX25519Identity();
    text = await encryptDocument(secret, {
      recipients: [await identityToRecipient(identity)], encryptedRegex: '^(data|stringData)$', now: new Date('2026-11-24T10:00:00.123Z'),
    });
  });

  test('encrypt only what the regex names, and carry the metadata sops and Flux read', () => {
    const { tree, sops } = readSopsFile(text);
    expect(tree.metadata).toEqual(secret.metadata);
    for (const v of Object.values(tree.stringData as object)) expect(v).toMatch(/^ENC\[AES256_GCM,data:.*,iv:.{44},tag:.{24},type:(str|int|bool)\]$/);
    expect(sops.lastmodified).toBe('2026-11-24T10:00:00Z');
    expect(sops.encrypted_regex).toBe('^(data|stringData)$');
    expect(text).not.toContain('MIIB');
  });

  test('round-trip through our decryptor with the MAC verified', async () => {
    expect(await decryptDocument(text, [identity])).toEqual(secret);
  });

  test('an independent decryptor (sops-age) reads them', async () => {
    expect(await decryptSops(text, { secretKey: identity, fileType: 'yaml' })).toEqual(secret);
  });

  test('every recipient can decrypt', async () => {
    const other = await generateX25519Identity();
    const both = await encryptDocument(secret, {
      recipients: [await identityToRecipient(identity), await identityToRecipient(other)], encryptedRegex: '^stringData$', now: new Date(),
    });
    expect(recipientsOf(both)).toHaveLength(2);
    expect(await decryptDocument(both, [other])).toEqual(secret);
  });
});
