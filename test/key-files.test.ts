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

test('temporaries a killed run left are removed before the next write, and nothing else is', () => {
  const dir = join(work, 'keys');
  mkdirSync(dir, { mode: 0o700 });
  const left = ['.key.pem.0123456789abcdef.buildkit-tmp', 'key.pem.not-ours.buildkit-tmp', '.notes', 'plain.pem'];
  for (const name of left) writeFileSync(join(dir, name), 'left\n');
  mkdirSync(join(dir, '.folder.buildkit-tmp'));
  writeFiles([{ path: join(dir, 'key.pem'), content: KEY, mode: 0o600 }]);
  expect(readdirSync(dir).sort()).toEqual(['.folder.buildkit-tmp', '.notes', 'key.pem', 'key.pem.not-ours.buildkit-tmp', 'plain.pem']);
});

test('a folder made for a key is private (0700), one made for public files only is not (0755)', () => {
  const umask = process.umask(0o022);
  try {
    writeFiles([
      { path: join(work, 'mixed', 'key.pem'), content: KEY, mode: 0o600 },
      { path: join(work, 'mixed', 'cert.pem'), content: 'cert\n' },
      { path: join(work, 'public', 'cert.pem'), content: 'cert\n', mode: 0o644 },
    ]);
  } finally {
    process.umask(umask);
  }
  expect(statSync(join(work, 'mixed')).mode & 0o777).toBe(0o700);
  expect(statSync(join(work, 'public')).mode & 0o777).toBe(0o755);
});

describe('taking a temporary name', () => {
  test('ten names taken by others: it stops with EEXIST, and writes nothing', () => {
    const planted = join(work, 'planted');
    writeFileSync(planted, 'planted\n');
    let names = 0;
    const write = () =>
      writeFiles([{ path: join(work, 'key.pem'), content: KEY, mode: 0o600 }], {
        temporaryName: () => {
          names++;
          return planted;
        },
      });
    expect(write).toThrow(/^EEXIST/);
    expect(names).toBe(10);
    expect(readFileSync(planted, 'utf8')).toBe('planted\n');
    expect(existsSync(join(work, 'key.pem'))).toBe(false);
  });

  test('any other error stops at the first name, and the temporaries already staged are removed', () => {
    writeFileSync(join(work, 'a.pem'), 'old a\n');
    let names = 0;
    const name = (target: string) => {
      names++;
      return target.endsWith('b.pem') ? join(work, 'missing', 'b.tmp') : join(work, '.a.tmp');
    };
    const write = () =>
      writeFiles(
        [
          { path: join(work, 'a.pem'), content: 'new a\n' },
          { path: join(work, 'b.pem'), content: 'new b\n' },
        ],
        { temporaryName: name },
      );
    expect(write).toThrow(/^ENOENT/);
    expect(names).toBe(2);
    expect(readdirSync(work)).toEqual(['a.pem']);
    expect(readFileSync(join(work, 'a.pem'), 'utf8')).toBe('old a\n');
  });
});

describe('the journal', () => {
  // The module object itself, whose property lib/ reads at each call (a namespace import's is fixed).
  const fs: typeof import('node:fs') = require('node:fs');
  const rename = fs.renameSync;
  /** writeFiles, killed (an error thrown) at its first rename of a staged file into place. */
  function killedAtFirstRename(files: Parameters<typeof writeFiles>[0], options: Parameters<typeof writeFiles>[1]): string[] {
    const targets: string[] = [];
    const spy = jest.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      targets.push(String(to));
      if (files.some((f) => f.path === to)) throw new Error('killed');
      rename(from, to);
    });
    try {
      expect(() => writeFiles(files, options)).toThrow('killed');
    } finally {
      spy.mockRestore();
    }
    return targets;
  }

  test('two files: written before the first rename, it lets the next command finish the write', () => {
    const journal = join(work, '.buildkit-journal');
    writeFileSync(join(work, 'a.pem'), 'old a\n');
    const files = [
      { path: join(work, 'a.pem'), content: 'new a\n' },
      { path: join(work, 'b.pem'), content: 'new b\n' },
    ];
    expect(killedAtFirstRename(files, { journal })).toEqual([journal, join(work, 'a.pem')]);
    expect(readFileSync(join(work, 'a.pem'), 'utf8')).toBe('old a\n');
    expect(completeJournal(journal)).toEqual([join(work, 'a.pem'), join(work, 'b.pem')]);
    expect(readdirSync(work).sort()).toEqual(['a.pem', 'b.pem']);
    expect(readFileSync(join(work, 'b.pem'), 'utf8')).toBe('new b\n');
  });

  test('one file and one removal: two steps, so a journal too', () => {
    const journal = join(work, '.buildkit-journal');
    writeFileSync(join(work, 'old.pem'), 'old\n');
    expect(killedAtFirstRename([{ path: join(work, 'new.pem'), content: 'new\n' }], { journal, remove: [join(work, 'old.pem')] })).toEqual([
      journal,
      join(work, 'new.pem'),
    ]);
    completeJournal(journal);
    expect(readdirSync(work)).toEqual(['new.pem']);
  });

  test('one file alone: one rename is all or nothing already, so no journal, and none to remove', () => {
    const journal = join(work, '.buildkit-journal');
    expect(killedAtFirstRename([{ path: join(work, 'key.pem'), content: KEY, mode: 0o600 }], { journal })).toEqual([join(work, 'key.pem')]);
    expect(writeFiles([{ path: join(work, 'key.pem'), content: KEY, mode: 0o600 }], { journal })).toEqual([join(work, 'key.pem')]);
    expect(readdirSync(work)).toEqual(['key.pem']);
  });
});
