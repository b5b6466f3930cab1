import { parseQuantity } from './quantity';

// One-line synth errors: what is wrong, the value received, and what to write instead.
export function fail(owner: string, prop: string, value: unknown, fix: string): never {
  throw new Error(`${owner}: invalid ${prop} ${JSON.stringify(value)}: ${fix}`);
}

/** A claim's setting for a cache that is an emptyDir would be dropped in silence, and the cache meant to be kept with it. */
export function checkClaimSetting(owner: string, prop: string, value: unknown, persistent: boolean): void {
  if (!persistent && value !== undefined) {
    fail(owner, prop, value, 'it applies to a persistent cache only, and this one is an emptyDir; set persistent: true, or leave it out');
  }
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
  return typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value);
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
