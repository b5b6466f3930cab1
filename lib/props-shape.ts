import { fail } from './validation';

/** What a setting takes at run time: config.ts runs without type-checking, so `'false'` must not pass for false. */
export type Leaf = 'string' | 'number' | 'boolean' | 'strings' | 'record' | 'object';
type LeafOf<V> = [V] extends [boolean]
  ? 'boolean'
  : [V] extends [number]
    ? 'number'
    : [V] extends [string]
      ? 'string'
      : [V] extends [readonly string[]]
        ? 'strings'
        : [V] extends [Readonly<Record<string, string>>]
          ? 'record' | 'object'
          : 'object';

/**
 * The keys a props object may have and what each takes: a Leaf for a value taken as a whole (an 'object' is
 * checked further by its construct), a nested shape for plain-data settings, a one-element tuple for a list
 * of them. Typed so that tsc fails when a props interface gains a field its shape lacks, or names the wrong kind.
 */
export type PropsShape<T> = { readonly [K in keyof Required<T>]-?: ValueShape<NonNullable<T[K]>> };
type ValueShape<V> = LeafOf<V> | (V extends readonly (infer E)[] ? readonly [PropsShape<E>] : V extends object ? PropsShape<V> : never);

const TAKES: Record<Leaf, string> = {
  string: 'a string in quotes',
  number: 'a number (without quotes)',
  boolean: 'true or false (without quotes)',
  strings: 'a list of strings, such as ["a", "b"]',
  record: 'an object whose values are strings',
  object: 'an object',
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fits(leaf: Leaf, value: unknown): boolean {
  switch (leaf) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return Number.isFinite(value); // false for anything but a number
    case 'boolean':
      return typeof value === 'boolean';
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'record':
      return isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
    case 'object':
      return isPlainObject(value);
  }
}

/**
 * Refuses keys the shape does not know and values of the wrong type, at any depth: a misspelt setting would
 * otherwise be ignored in silence, and a string "false" read as true. Unknown keys name the closest known one.
 */
export function checkKnownKeys<T>(owner: string, props: T, shape: PropsShape<T>, path = ''): void {
  if (!isPlainObject(props)) {
    const where = path ? path.replace(/\.$/, '') : 'settings';
    fail(owner, where, props, `use an object with ${Object.keys(shape).join(', ')}`);
  }
  const known = shape as Record<string, unknown>;
  for (const [key, value] of Object.entries(props)) {
    const where = `${path}${key}`;
    if (!Object.hasOwn(known, key)) {
      const closest = closestKey(key, Object.keys(known));
      throw new Error(
        `${owner}: unknown setting "${where}": ${
          closest ? `did you mean "${path}${closest}"?` : `the settings here are ${Object.keys(known).join(', ')}`
        }`,
      );
    }
    if (value === undefined) continue; // as if absent
    const inner = known[key];
    if (typeof inner === 'string') {
      if (!fits(inner as Leaf, value)) fail(owner, where, value, `use ${TAKES[inner as Leaf]}`);
    } else if (Array.isArray(inner)) {
      if (!Array.isArray(value)) fail(owner, where, value, 'use a list');
      for (const [i, item] of value.entries()) checkKnownKeys(owner, item, inner[0], `${where}[${i}].`);
    } else {
      checkKnownKeys(owner, value, inner as PropsShape<unknown>, `${where}.`);
    }
  }
}

/** The candidate within a third of the key's length in edits (at least 2), or one that begins the other ("sizeGiB", "secret"). */
function closestKey(key: string, candidates: string[]): string | undefined {
  const k = key.toLowerCase();
  const scored = candidates.map((c) => ({ c, d: editDistance(k, c.toLowerCase()) })).sort((a, b) => a.d - b.d);
  if (scored[0] && scored[0].d <= Math.max(2, Math.floor(key.length / 3))) return scored[0].c;
  return candidates.find((c) => Math.min(c.length, k.length) >= 3 && (k.startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(k)));
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
