import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { migrateToTenant } from '../lib/certs/migrate';
import { tenantSecrets } from '../lib/tenants';
import { treeDigest } from './support/dist';

const work = mkdtempSync(join(tmpdir(), 'buildkit-migrate-rollback-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A secrets/ folder of one CA, as far as migrate looks: the entries it moves, each with a file. */
function singleCa(name: string): string {
  const root = join(work, name);
  for (const file of [
    'age/age-key.txt',
    'ca/buildkit-ca.yaml',
    'apps/buildkit-daemon-certs.yaml',
    'clients/laptop.yaml',
    'public/ca/ca.pem',
  ]) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), `${file}\n`);
  }
  writeFileSync(join(root, '.sops.yaml'), 'creation_rules: []\n');
  return root;
}

test('a rename that fails midway moves back what had moved: secrets/ as it was, and no folder left for the tenant', () => {
  const secrets = singleCa('failing');
  const before = treeDigest(secrets);
  // The module object itself, whose property lib/ reads at each call (a namespace import's is fixed).
  const fs: typeof import('node:fs') = require('node:fs');
  const rename = fs.renameSync;
  let calls = 0;
  const failThird = jest.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
    calls += 1;
    if (calls === 3) throw new Error('EXDEV: cross-device link not permitted');
    rename(from, to);
  });
  try {
    expect(() => migrateToTenant(secrets, tenantSecrets(secrets, 'team-a'))).toThrow('EXDEV');
  } finally {
    failThird.mockRestore();
  }
  expect(calls).toBe(3 + 2); // two moved there, two moved back
  expect(treeDigest(secrets)).toEqual(before);
  expect(readdirSync(secrets).sort()).toEqual(['.sops.yaml', 'age', 'apps', 'ca', 'clients', 'public']);
});

test('without a failure every entry moves, and the old top level is empty', () => {
  const secrets = singleCa('working');
  const tenant = tenantSecrets(secrets, 'team-a');
  expect(migrateToTenant(secrets, tenant)).toHaveLength(6);
  expect(readdirSync(secrets)).toEqual([tenant.slice(secrets.length + 1).split('/')[0]]);
  expect(existsSync(join(tenant, 'ca', 'buildkit-ca.yaml'))).toBe(true);
});
