import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

export interface FileWrite {
  readonly path: string;
  readonly content: string;
  /** Defaults to 0644. */
  readonly mode?: number;
}

export interface WriteOptions {
  /**
   * Names a temporary for a target.
   * @default - `.<name>.<16 random hex>.buildkit-tmp` beside it
   */
  readonly temporaryName?: (target: string) => string;
  /** Runs once every file is staged, before any is renamed into place (tests stop the process here). */
  readonly afterStaging?: () => void;
  /**
   * A journal file that makes the renames (and `remove`) all or nothing across a crash: written once every
   * file is staged, removed once all are in place; completeJournal() finishes what a killed run left.
   * @default - none: a crash between two renames leaves some files new and some old
   */
  readonly journal?: string;
  /** Files to delete with the write (a copy the new set no longer has). */
  readonly remove?: readonly string[];
}

interface Journal {
  /** Temporary and target, relative to the journal's folder. */
  readonly renames: Array<[string, string]>;
  readonly removals: string[];
}

/**
 * Completes the write a killed run left in its journal: every staged file is renamed into place and every
 * removal done, so the folder holds the new set. Returns the files completed; none without a journal.
 */
export function completeJournal(journal: string): string[] {
  if (!existsSync(journal)) return [];
  const base = dirname(journal);
  const { renames, removals } = JSON.parse(readFileSync(journal, 'utf8')) as Journal;
  for (const [tmp, target] of renames) if (existsSync(join(base, tmp))) renameSync(join(base, tmp), join(base, target));
  for (const path of removals) rmSync(join(base, path), { force: true });
  rmSync(journal);
  return [...renames.map(([, target]) => join(base, target)), ...removals.map((path) => join(base, path))];
}

/** What every temporary of this tool ends with; .gitignore covers it. */
export const TEMPORARY_SUFFIX = '.buildkit-tmp';

const randomTemporary = (target: string) =>
  join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}${TEMPORARY_SUFFIX}`);

/**
 * Refuses a symbolic link anywhere under root, root included: the commands and synth read, write and delete
 * under secrets/, and a link would take them to files outside it (a folder emptied, a key written elsewhere).
 */
export function refuseLinks(root: string): void {
  const walk = (path: string): void => {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (stat.isSymbolicLink()) {
      throw new Error(
        `${displayPath(path)} is a symbolic link: nothing under secrets/ may be one (it could lead outside the repository); replace it with the file or folder itself`,
      );
    }
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(root);
}

/** A folder others can write to lets them plant a file or link where a key is about to go. */
function checkPrivateFolder(dir: string): void {
  const mode = statSync(dir).mode;
  if (mode & 0o022) {
    throw new Error(
      `${displayPath(dir)} is writable by other users (mode ${(mode & 0o777).toString(8)}): one of them could plant a file or link where a key goes; run chmod go-w ${displayPath(dir)}`,
    );
  }
}

/** The temporaries anywhere under root: what a run killed before its renames leaves. */
export function stagedTemporaries(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => basename(f).endsWith(TEMPORARY_SUFFIX))
    .map((f) => join(root, f));
}

/** Temporaries a crashed run left behind: they may hold a plaintext key. */
function removeStaleTemporaries(dir: string): void {
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.') && entry.endsWith(TEMPORARY_SUFFIX) && lstatSync(join(dir, entry)).isFile()) rmSync(join(dir, entry));
  }
}

/** Creates a file that did not exist, never following a link, with exactly this mode (whatever the umask). */
function createExclusive(path: string, content: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode);
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes every file or none: each goes to a temporary beside it first, created exclusively under an
 * unpredictable name with its final mode, and only when all are written are they renamed into place.
 * Target folders must not be writable by others; stale temporaries in them are removed first. Files whose
 * content is already right are not rewritten (no git churn), but get their mode. Returns the paths written.
 */
export function writeFiles(files: readonly FileWrite[], options: WriteOptions = {}): string[] {
  const name = options.temporaryName ?? randomTemporary;
  for (const dir of new Set(files.map((f) => dirname(f.path)))) {
    const secret = files.some((f) => dirname(f.path) === dir && f.mode === 0o600);
    mkdirSync(dir, { recursive: true, mode: secret ? 0o700 : 0o755 });
    checkPrivateFolder(dir);
    removeStaleTemporaries(dir);
  }
  const changed = files.filter((f) => !existsSync(f.path) || readFileSync(f.path, 'utf8') !== f.content);
  for (const f of files) {
    if (!changed.includes(f) && (statSync(f.path).mode & 0o777) !== (f.mode ?? 0o644)) chmodSync(f.path, f.mode ?? 0o644);
  }
  const staged: Array<[string, string]> = [];
  try {
    for (const f of changed) {
      for (let attempt = 0; ; attempt++) {
        const tmp = name(f.path);
        try {
          createExclusive(tmp, f.content, f.mode ?? 0o644);
          staged.push([tmp, f.path]);
          break;
        } catch (err) {
          // Someone else's file or link holds the name: never write into it, take another.
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 9) throw err;
        }
      }
    }
    options.afterStaging?.();
  } catch (err) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    throw err;
  }
  const removals = (options.remove ?? []).filter((path) => existsSync(path));
  if (options.journal && staged.length + removals.length > 1) {
    const base = dirname(options.journal);
    const journal: Journal = {
      renames: staged.map(([tmp, path]) => [relative(base, tmp), relative(base, path)]),
      removals: removals.map((path) => relative(base, path)),
    };
    const tmp = randomTemporary(options.journal);
    createExclusive(tmp, JSON.stringify(journal), 0o600);
    renameSync(tmp, options.journal); // from here on, the next command completes the write
  }
  for (const [tmp, path] of staged) renameSync(tmp, path);
  for (const path of removals) rmSync(path, { force: true });
  if (options.journal) rmSync(options.journal, { force: true });
  return changed.map((f) => f.path);
}

export function readText(path: string, hint: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
  return readFileSync(path, 'utf8');
}

/** A path as a person would type it: relative inside the working directory, absolute elsewhere. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
