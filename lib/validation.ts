import { isIP, isIPv4 } from 'node:net';
import { parseQuantity } from './quantity';

// One-line synth errors: what is wrong, the value received, and what to write instead.
function fail(owner: string, prop: string, value: unknown, fix: string): never {
  throw new Error(`${owner}: invalid ${prop} ${JSON.stringify(value)}: ${fix}`);
}

/** Addresses no LoadBalancer can answer on: unspecified, loopback, link-local, multicast and reserved, broadcast. */
const UNROUTABLE: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'an unspecified'],
  ['127.0.0.0', 8, 'a loopback'],
  ['169.254.0.0', 16, 'a link-local'],
  ['224.0.0.0', 4, 'a multicast'],
  ['240.0.0.0', 4, 'a reserved or broadcast'],
];

/** A LoadBalancer address: a dotted IPv4 address that hosts on the network can reach. */
export function checkIPv4(owner: string, prop: string, value: string): string {
  if (!isIPv4(value)) fail(owner, prop, value, 'use a dotted IPv4 address such as 192.168.80.110');
  for (const [network, bits, kind] of UNROUTABLE) {
    const hostBits = BigInt(32 - bits);
    if (addressBits(value) >> hostBits === addressBits(network) >> hostBits) {
      fail(owner, prop, value, `${kind} address cannot be a LoadBalancer's; use one from your MetalLB pool, such as 192.168.80.110`);
    }
  }
  return value;
}

/** An address range in CIDR notation, IPv4 or IPv6, such as 192.168.0.0/16. */
export function checkCidr(owner: string, prop: string, value: string): string {
  // Without a "/", prefix is undefined, which no digits match.
  const [address, prefix, ...rest] = String(value).split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  if (!family || rest.length > 0 || !/^\d+$/.test(prefix) || Number(prefix) > bits) {
    fail(owner, prop, value, 'use address/prefix such as 192.168.0.0/16');
  }
  // Network plugins read 10.0.0.1/8 as 10.0.0.0/8, as 10.0.0.1/32, or drop the rule: say which.
  const hostBits = BigInt(bits - Number(prefix));
  const number = addressBits(address);
  if (number % (1n << hostBits) !== 0n) {
    const network = formatBits((number >> hostBits) << hostBits, family);
    fail(
      owner,
      prop,
      value,
      `it has bits set past its prefix; use ${network}/${prefix} for the range, or ${address}/${bits} for the one address`,
    );
  }
  return value;
}

/** A valid IPv4 or IPv6 address as a number (an IPv6 one may end in dotted IPv4). */
function addressBits(address: string): bigint {
  if (isIPv4(address)) return address.split('.').reduce((n, part) => (n << 8n) | BigInt(part), 0n);
  // A valid IPv6 address holds a dotted quad only at its end.
  const dotted = /\d+\.\d+\.\d+\.\d+/.exec(address)?.[0];
  const hex = dotted
    ? `${address.slice(0, -dotted.length)}${(addressBits(dotted) >> 16n).toString(16)}:${(addressBits(dotted) & 0xffffn).toString(16)}`
    : address;
  // Without "::" the tail is empty and nothing is padded.
  const [head, tail] = hex.split('::');
  const groups = (text: string | undefined) => (text ? text.split(':') : []);
  const all = [...groups(head), ...Array(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  return all.reduce((n, group) => (n << 16n) | BigInt(`0x${group}`), 0n);
}

/** A number as an address of its family: dotted IPv4, or IPv6 as the WHATWG URL parser writes it (RFC 5952). */
function formatBits(number: bigint, family: number): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => (number >> shift) & 0xffn).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((number >> shift) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

export function checkPort(owner: string, prop: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(owner, prop, value, 'use a whole number from 1 to 65535');
  return value;
}

export function checkPositiveInteger(owner: string, prop: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) fail(owner, prop, value, 'use a whole number of at least 1');
  return value;
}

/** A whole number from `min` to `max`, the documented bounds. */
export function checkBoundedInteger(owner: string, prop: string, value: number, max: number, why: string, min = 0): number {
  if (!Number.isInteger(value) || value < min || value > max) fail(owner, prop, value, `use a whole number from ${min} to ${max} (${why})`);
  return value;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

export function checkDnsLabel(owner: string, prop: string, value: string): string {
  if (!isDnsLabel(value)) {
    fail(owner, prop, value, 'use a DNS label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit');
  }
  return value;
}

/**
 * A namespace the chart creates and labels with its Pod Security level: never one Kubernetes made for everyone
 * (`default`, `kube-*`), whose pods would all be allowed what the daemons are.
 */
export function checkOwnNamespace(owner: string, prop: string, value: string): string {
  checkDnsLabel(owner, prop, value);
  if (value === 'default' || value.startsWith('kube-')) {
    fail(
      owner,
      prop,
      value,
      "the chart labels its namespace's Pod Security for the daemons; give the service a namespace of its own, such as 'buildkit'",
    );
  }
  return value;
}

export function checkDnsSubdomain(owner: string, prop: string, value: string): string {
  if (value.length > 253 || !value.split('.').every((l) => l.length <= 63 && DNS_LABEL.test(l))) {
    fail(owner, prop, value, 'use a DNS name of lowercase labels separated by dots, such as cluster.local');
  }
  return value;
}

// The image reference grammar of distribution/reference: [domain[:port]/]path[:tag][@digest].
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
// A first component is a registry only with a dot, a port, or as localhost; otherwise it is a lowercase path.
const DOMAIN = `(?:localhost(?::[0-9]+)?|${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})+(?::[0-9]+)?|${DOMAIN_COMPONENT}:[0-9]+)`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

/**
 * An image reference in the registry grammar, pinned: by digest, or by a release tag, one that names a version
 * (`v0.32.2-rootless`, `2.8.3`). Tags without one move: `latest`, BuildKit's `rootless`, `master-rootless`
 * and `buildx-stable-1-rootless`, Distribution's `2`.
 */
export function checkPinnedImage(owner: string, prop: string, value: string, example = 'moby/buildkit:v0.32.2-rootless'): string {
  const match = REFERENCE.exec(value);
  if (!match || match[1].length > 255)
    fail(owner, prop, value, `use an image reference such as ${example} or registry.local:5000/${example.split(':')[0]}@sha256:<64 hex>`);
  const [, , tag, digest] = match;
  if (!digest && !tag) fail(owner, prop, value, `pin a release tag or digest, such as ${example}`);
  if (!digest && !/\d\.\d/.test(tag))
    fail(
      owner,
      prop,
      value,
      `${JSON.stringify(tag)} names no release, so it moves under you; pin a release tag such as ${example}, or add the digest`,
    );
  return value;
}

/**
 * The largest quantity a setting takes: 1Pi (2^50) bytes, or as many cores. Far past any disk or node, and far
 * inside what BuildKit's int64 byte counts and Go's parsing of the rendered MiB values hold (8Ei).
 */
export const MAX_QUANTITY = 2 ** 50;

/** A positive, finite quantity from `min` to 1Pi; returns its value in base units (bytes, cores). */
export function checkQuantity(owner: string, prop: string, value: string, example: string, min = 0): number {
  const parsed = parseQuantity(value);
  if (parsed === undefined || !Number.isFinite(parsed) || parsed <= 0)
    fail(owner, prop, value, `use a positive Kubernetes quantity such as ${example}`);
  if (parsed < min) fail(owner, prop, value, `that is under ${min} base units; use a quantity such as ${example}`);
  if (parsed > MAX_QUANTITY) fail(owner, prop, value, `that is over 1Pi, past any disk or node; use a quantity such as ${example}`);
  return parsed;
}

/** Go's time.Duration is int64 nanoseconds: 9223372036854775807ns (2562047h47m16.854775807s) at most. */
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const GO_LONGEST = 2n ** 63n - 1n;
const NANOSECONDS = { ns: 1n, us: 1000n, µs: 1000n, ms: 1000000n, s: 10n ** 9n, m: 60n * 10n ** 9n, h: 3600n * 10n ** 9n } as const;

/** A Go duration such as 168h or 1h30m, within what Go's time.Duration holds. */
export function checkGoDuration(owner: string, prop: string, value: string, example: string): string {
  if (!GO_DURATION.test(value)) fail(owner, prop, value, `use a Go duration such as ${example}`);
  // Whole nanoseconds in BigInt, as Go counts them: a float cannot tell 2^63 - 1 from 2^63.
  const total = [...value.matchAll(/(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)/g)].reduce((n, [, whole, fraction, unit]) => {
    const per = NANOSECONDS[unit as keyof typeof NANOSECONDS];
    const part = fraction ? (BigInt(fraction) * per) / 10n ** BigInt(fraction.length) : 0n;
    return n + BigInt(whole) * per + part;
  }, 0n);
  if (total > GO_LONGEST)
    fail(owner, prop, value, `that is past Go's longest duration (about 2562047h); use a duration such as ${example}`);
  return value;
}

/** The values Kubernetes nodes carry in `kubernetes.io/arch` (Go's GOARCH of the kubelet). */
export const NODE_ARCHITECTURES = ['amd64', 'arm64', 'arm', 'ppc64le', 's390x', 'riscv64', '386'] as const;

export function checkArchitecture(owner: string, prop: string, value: string): string {
  if (!(NODE_ARCHITECTURES as readonly string[]).includes(value)) {
    fail(
      owner,
      prop,
      value,
      `no node carries that kubernetes.io/arch label, so the pods would never schedule; use one of ${NODE_ARCHITECTURES.join(', ')}`,
    );
  }
  return value;
}

/**
 * A repository URL GitOps reads: https://, ssh:// or git@host:path, without credentials. Flux and Argo CD take
 * those from Secrets; a token in the URL would sit in gitops/dist/, in git, in plain text.
 */
export function checkRepoURL(owner: string, prop: string, value: string): string {
  if (!/^(https:\/\/|ssh:\/\/|git@)\S+$/.test(value)) fail(owner, prop, value, "use the repository's https:// or ssh URL");
  if (/^(https|ssh):\/\/[^/@]*@/.test(value) && !/^ssh:\/\/git@/.test(value)) {
    throw new Error(
      `${owner}: invalid ${prop}: it carries credentials (user:token@); give the URL without them and the credentials to Flux or Argo CD as a Secret`,
    );
  }
  return value;
}

/**
 * A branch, tag or commit as git accepts one (git check-ref-format, and no leading "-" that a client could
 * read as an option): `--upload-pack=...` must never reach a git command line.
 */
export function checkGitRevision(owner: string, prop: string, value: string): string {
  const ok =
    /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/.test(value) && !/(\.\.|\/\/|@\{|\.lock(\/|$)|\/$|\.$|\/\.)/.test(value) && value.length <= 255;
  if (!ok) fail(owner, prop, value, 'use a branch, tag or commit, such as main, v1.2.0 or a commit hash');
  return value;
}

const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A Kubernetes label name (an optional DNS prefix and `/`, then at most 63 characters). */
export function checkLabelName(owner: string, prop: string, value: string, example: string): string {
  if (!LABEL_NAME.test(value) || value.split('/')[0].length > 253)
    fail(owner, prop, value, `use a Kubernetes label name, such as ${example}`);
  return value;
}

/** A Kubernetes label value: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit. */
export function checkLabelValue(owner: string, prop: string, value: string, example: string): string {
  if (!LABEL_VALUE.test(value)) fail(owner, prop, value, `use a Kubernetes label value, such as ${example}`);
  return value;
}

/** Labels a user puts beside the chart's own (`own`): label names and values, none of the chart's keys. */
export function withExtraLabels(
  owner: string,
  prop: string,
  extra: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  for (const [key, value] of Object.entries(extra)) {
    checkLabelName(owner, `${prop} key`, key, 'release');
    if (Object.hasOwn(own, key))
      fail(owner, `${prop} key`, key, 'the chart sets that label itself; give the label your Prometheus selects by, such as release');
    checkLabelValue(owner, `${prop}["${key}"]`, value, 'kube-prometheus-stack');
  }
  return { ...extra, ...own };
}

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
