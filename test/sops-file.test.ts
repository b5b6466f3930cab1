import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { decryptSops } from 'sops-age';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument, encryptDocument, readSopsFile, recipientsOf } from '../lib/sops/sops-file';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', 'sops', name), 'utf8');
const identities = (name: string) => parseIdentities(fixture(name));

describe('files written by the real sops decrypt and their MACs verify', () => {
  test('example.age.yaml (sops 3.7.1: nested maps, lists, numbers, booleans, comments, unencrypted suffix)', async () => {
    const doc = (await decryptDocument(fixture('example.age.yaml'), identities('keys.txt'))) as any;
    expect(doc.myapp1).toBe('t00m4nys3cr3tzupdated');
    expect(doc.app2.db).toEqual({ user: 'eve', password: 'c4r1b0u' });
    expect(doc.an_array).toEqual(['secretuser1', 'secretuser2', expect.stringMatching(/^somelongvalueA+$/), 'some other value']);
    expect(doc.somebooleans).toEqual([true, false]);
    expect(doc.number).toBe(1234568000);
    expect(doc.this.is.a.nested.value).toBe('with something secret in it');
    expect(doc.somelist_unencrypted[0]).toBe('all elements of this list');
  });

  test('example.age.json', async () => {
    const doc = (await decryptDocument(fixture('example.age.json'), identities('keys.txt'))) as any;
    expect(doc.firstName).toBe('John');
  });

  test.each([
    ['flux-algorithms-age.yaml', 'flux-keys-age.txt'],
    ['flux-global-secret.yaml', 'flux-keys-age-global.txt'],
  ])('%s (a Kubernetes Secret with encrypted_regex)', async (file, keys) => {
    const doc = (await decryptDocument(fixture(file), identities(keys))) as any;
    expect(doc.kind).toBe('Secret');
    expect(typeof doc.stringData.key).toBe('string');
    expect(doc.stringData.key).not.toMatch(/^ENC\[/);
  });

  test('the wrong key fails with the recipients named', async () => {
    await expect(decryptDocument(fixture('flux-algorithms-age.yaml'), identities('keys.txt'))).rejects.toThrow(
      /no age identity given decrypts this file \(encrypted to age1l44xcng8/,
    );
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
    await expect(decryptDocument(original.replace(sops.lastmodified, '2020-01-01T00:00:00Z'), keys)).rejects.toThrow(
      /^sops\.mac: authentication failed/,
    );
  });
});

describe('files written here', () => {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'certs', namespace: 'buildkit' },
    type: 'Opaque',
    stringData: { 'ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', count: 3, on: true },
  };
  let identity: string;
  let text: string;
  beforeAll(async () => {
    identity = await generateX25519Identity();
    text = await encryptDocument(secret, {
      recipients: [await identityToRecipient(identity)],
      encryptedRegex: '^(data|stringData)$',
      now: new Date('2026-11-24T10:00:00.123Z'),
    });
  });

  test('encrypt only what the regex names, and carry the metadata sops and Flux read', () => {
    const { tree, sops } = readSopsFile(text);
    expect(tree.metadata).toEqual(secret.metadata);
    for (const v of Object.values(tree.stringData as object))
      expect(v).toMatch(/^ENC\[AES256_GCM,data:.*,iv:.{44},tag:.{24},type:(str|int|bool)\]$/);
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
      recipients: [await identityToRecipient(identity), await identityToRecipient(other)],
      encryptedRegex: '^stringData$',
      now: new Date(),
    });
    expect(recipientsOf(both)).toHaveLength(2);
    expect(await decryptDocument(both, [other])).toEqual(secret);
  });
});

test('a set of identities is added once per process, however many files and recipients it decrypts', async () => {
  const [mine, theirs] = [await generateX25519Identity(), await generateX25519Identity()];
  // Ours is the second recipient: the first stanza is tried, and refused, before ours.
  const recipients = [await identityToRecipient(theirs), await identityToRecipient(mine)];
  const files = await Promise.all([1, 2, 3].map((n) => encryptDocument({ n }, { recipients, encryptedRegex: '^n$', now: new Date() })));
  const added = jest.spyOn(Decrypter.prototype, 'addIdentity');
  try {
    for (const [i, file] of files.entries()) expect(await decryptDocument(file, [mine])).toEqual({ n: i + 1 });
    expect(await decryptDocument(files[0], [theirs, mine])).toEqual({ n: 1 });
    expect(added.mock.calls).toEqual([[mine], [theirs], [mine]]);
  } finally {
    added.mockRestore();
  }
});

describe('what a written file holds, and what cannot be written or read', () => {
  let identity: string;
  let recipient: string;
  const now = new Date('2026-11-24T10:00:00.123Z');
  beforeAll(async () => {
    identity = await generateX25519Identity();
    recipient = await identityToRecipient(identity);
  });
  const write = (doc: Record<string, unknown>, recipients = [recipient]) =>
    encryptDocument(doc as any, { recipients, encryptedRegex: '^stringData$', now });

  test('numbers and booleans keep their sops types, read back by sops-age', async () => {
    const doc = { stringData: { whole: 3, fraction: 1.5, yes: true, no: false } };
    const { tree } = readSopsFile(await write(doc));
    const types = Object.values(tree.stringData as object).map((v) => /type:(\w+)\]$/.exec(v)![1]);
    expect(types).toEqual(['int', 'float', 'bool', 'bool']);
    expect(await decryptSops(await write(doc), { secretKey: identity, fileType: 'yaml' })).toEqual(doc);
  });

  test('the sops release whose layout it writes, and long values on one line as sops writes them', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const text = await write({ note: long, stringData: { a: 'b' } });
    expect(text).toContain(`note: ${long}\n`);
    expect(text).toMatch(/^sops:\n(?: {2}.*\n)* {2}version: 3\.10\.2\n/m);
    expect((readSopsFile(text).sops as any).version).toBe('3.10.2');
  });

  test.each([
    ['a null value', { stringData: { a: null } }, 'cannot encrypt the null value at stringData.a: use a string'],
    ['an undefined value', { stringData: { a: undefined } }, 'cannot encrypt the undefined value at stringData.a: use a string'],
    ['a top-level "sops" key', { sops: 'x', stringData: {} }, 'the document already has a top-level "sops" key'],
  ])('%s is refused', async (_, doc, message) => {
    await expect(write(doc)).rejects.toThrow(message);
  });

  test('no recipients is refused', async () => {
    await expect(write({ stringData: { a: 'b' } }, [])).rejects.toThrow('no age recipients: add at least one to secrets/.sops.yaml');
  });

  test.each([
    ['without a mac', /^ {2}mac: .*\n/m],
    ['without lastmodified', /^ {2}lastmodified: .*\n/m],
  ])('a file %s is no sops file', async (_, line) => {
    const text = (await write({ stringData: { a: 'b' } })).replace(line, '');
    expect(() => readSopsFile(text)).toThrow('not a sops file: no sops metadata with mac and lastmodified');
  });

  test.each([
    ['text before it', (mac: string) => `x${mac}`],
    ['text after it', (mac: string) => `${mac}x`],
    ['an unknown type', (mac: string) => mac.replace('type:str', 'type:text')],
  ])('a MAC value with %s is refused as no sops value', async (_, edit) => {
    const text = await write({ stringData: { a: 'b' } });
    const { mac } = readSopsFile(text).sops;
    await expect(decryptDocument(text.replace(mac, edit(mac)), [identity])).rejects.toThrow('sops.mac: not a sops AES256_GCM value');
  });

  test('text that is no YAML: one line with where the parser stopped, and no path when none was given', async () => {
    await expect(decryptDocument('a: [', [])).rejects.toThrow(
      /^line 1, column 5: not valid YAML: unexpected end of the stream within a flow collection$/,
    );
  });

  test('no identity: the error names every recipient, or says there are none', async () => {
    const other = await identityToRecipient(await generateX25519Identity());
    const stranger = await generateX25519Identity();
    const text = await write({ stringData: { a: 'b' } }, [recipient, other]);
    await expect(decryptDocument(text, [stranger])).rejects.toThrow(
      `no age identity given decrypts this file (encrypted to ${recipient}, ${other})`,
    );
    const none = text.replace(/^ {2}age:\n(?: {4}.*\n| {8}.*\n)+/m, '  age: []\n');
    expect(recipientsOf(none)).toEqual([]);
    await expect(decryptDocument(none, [identity])).rejects.toThrow('no age identity given decrypts this file (encrypted to none)');
  });
});
