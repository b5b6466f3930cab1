import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completeJournal, displayPath, refuseLinks, writeFiles } from '../lib/certs/files';

// Stands for a private key: what matters is where these bytes land (no key-shaped text in git).
const KEY = 'secret key material, not to be planted on\n';
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'buildkit-files-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

test('a file or link planted at a temporary name never receives the key', () => {
  const dir = join(work, 'age');
  mkdirSync(dir, { mode: 0o700 });
  const target = join(dir, 'age-key.txt');
  const names = [join(dir, 'planted-file'), join(dir, 'planted-link'), join(dir, 'free')];
  writeFileSync(names[0], 'planted\n', { mode: 0o666 });
  chmodSync(names[0], 0o666);
  const bait = join(work, 'bait');
  writeFileSync(bait, 'bait\n');
  symlinkSync(bait, names[1]);
  let next = 0;
  expect(writeFiles([{ path: target, content: KEY, mode: 0o600 }], { temporaryName: () => names[next++] })).toEqual([target]);
  expect(next).toBe(3);
  expect(readFileSync(names[0], 'utf8')).toBe('planted\n');
  expect(statSync(names[0]).mode & 0o777).toBe(0o666);
  expect(readFileSync(bait, 'utf8')).toBe('bait\n');
  expect(readFileSync(target, 'utf8')).toBe(KEY);
  expect(statSync(target).mode & 0o777).toBe(0o600);
});

test('the mode is enforced on every write, even when the content is unchanged', () => {
  const target = join(work, 'key.pem');
  writeFiles([{ path: target, content: KEY, mode: 0o600 }]);
  chmodSync(target, 0o644);
  expect(writeFiles([{ path: target, content: KEY, mode: 0o600 }])).toEqual([]);
  expect(statSync(target).mode & 0o777).toBe(0o600);
});

test('a folder other users can write to is refused, and nothing is written', () => {
  const dir = join(work, 'shared');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  expect(() => writeFiles([{ path: join(dir, 'key.pem'), content: KEY, mode: 0o600 }])).toThrow(
    /shared is writable by other users \(mode 777\): one of them could plant a file or link where a key goes; run chmod go-w /,
  );
  expect(existsSync(join(dir, 'key.pem'))).toBe(false);
});

test('a journal is completed whatever the kill left: renames not yet done, a removal already done', () => {
  const dir = join(work, 'journal');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.pem'), 'old a');
  writeFileSync(join(dir, '.a.pem.0.buildkit-tmp'), 'new a');
  writeFileSync(join(dir, 'b.pem'), 'b, renamed before the kill');
  writeFileSync(join(dir, 'stale.pem'), 'to go');
  const journal = join(dir, '.buildkit-journal');
  const renames = [
    ['.a.pem.0.buildkit-tmp', 'a.pem'],
    ['.b.pem.0.buildkit-tmp', 'b.pem'],
  ];
  writeFileSync(journal, JSON.stringify({ renames, removals: ['stale.pem', 'gone.pem'] }));
  expect(completeJournal(journal)).toEqual(['a.pem', 'b.pem', 'stale.pem', 'gone.pem'].map((f) => join(dir, f)));
  expect(readdirSync(dir).sort()).toEqual(['a.pem', 'b.pem']);
  expect(readFileSync(join(dir, 'a.pem'), 'utf8')).toBe('new a');
  expect(readFileSync(join(dir, 'b.pem'), 'utf8')).toBe('b, renamed before the kill');
  expect(completeJournal(journal)).toEqual([]);
});

test('refuseLinks passes a folder that does not exist, and stops on any other error', () => {
  expect(() => refuseLinks(join(work, 'missing'))).not.toThrow();
  writeFileSync(join(work, 'file'), '');
  expect(() => refuseLinks(join(work, 'file', 'secrets'))).toThrow(/^ENOTDIR/);
});

test('displayPath: relative inside the working directory, absolute outside it and for the directory itself', () => {
  expect(displayPath(join(process.cwd(), 'secrets', 'ca'))).toBe(join('secrets', 'ca'));
  expect(displayPath(work)).toBe(work);
  expect(displayPath(process.cwd())).toBe(process.cwd());
});
