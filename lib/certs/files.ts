import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'fs';
import { dirname, relative } from 'path';

export interface FileWrite {
  readonly path: string;
  readonly content: string;
  /** Defaults to 0644. */
  readonly mode?: number;
}

/**
 * Writes every file or none: each goes to a temporary sibling first, and only when all are written are
 * they renamed into place. Files whose content is already what would be written are left untouched, so a
 * command that changes nothing causes no git churn. Returns the paths actually written.
 */
export function writeFiles(files: readonly FileWrite[]): string[] {
  const changed = files.filter((f) => !existsSync(f.path) || readFileSync(f.path, 'utf8') !== f.content);
  const staged: Array<[string, string]> = [];
  try {
    for (const f of changed) {
      mkdirSync(dirname(f.path), { recursive: true });
      const tmp = `${f.path}.tmp-${process.pid}`;
      writeFileSync(tmp, f.content, { mode: f.mode ?? 0o644 });
      staged.push([tmp, f.path]);
    }
  } catch (err) {
    staged.forEach(([tmp]) => rmSync(tmp, { force: true }));
    throw err;
  }
  for (const [tmp, path] of staged) renameSync(tmp, path);
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
