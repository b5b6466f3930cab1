import { isIPv4 } from 'net';
import { parseQuantity } from './quantity';

// One-line synth errors: what is wrong, the value received, and what to write instead.
function fail(owner: string, prop: string, value: unknown, fix: string): never {
  throw new Error(`${owner}: invalid ${prop} ${JSON.stringify(value)}: ${fix}`);
}

export function checkIPv4(owner: string, prop: string, value: string): string {
  if (!isIPv4(value)) fail(owner, prop, value, 'use a dotted IPv4 address such as 192.168.80.110');
  return value;
}

export function checkPort(owner: string, prop: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(owner, prop, value, 'use a whole number from 1 to 65535');
  return value;
}

export function checkPositiveInteger(owner: string, prop: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) fail(owner, prop, value, 'use a whole number of at least 1');
  return value;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkDnsLabel(owner: string, prop: string, value: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    fail(owner, prop, value, 'use a DNS label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit');
  }
  return value;
}

export function checkDnsSubdomain(owner: string, prop: string, value: string): string {
  if (value.length > 253 || !value.split('.').every((l) => l.length <= 63 && DNS_LABEL.test(l))) {
    fail(owner, prop, value, 'use a DNS name of lowercase labels separated by dots, such as cluster.local');
  }
  return value;
}

/** An image reference must pin a release: a tag other than `latest`, or a digest. */
export function checkPinnedImage(owner: string, prop: string, value: string): string {
  const lastSegment = value.slice(value.lastIndexOf('/') + 1);
  const digest = /@sha256:[a-f0-9]{64}$/.test(value);
  const tag = /^[^:@]+:([\w][\w.-]{0,127})(@sha256:[a-f0-9]{64})?$/.exec(lastSegment)?.[1];
  if (!digest && !tag) fail(owner, prop, value, 'pin a release tag or digest, such as moby/buildkit:v0.27.1-rootless');
  if (tag === 'latest') fail(owner, prop, value, '"latest" moves under you; pin a release tag such as moby/buildkit:v0.27.1-rootless');
  return value;
}

/** A positive quantity; returns its value in base units (bytes, cores). */
export function checkQuantity(owner: string, prop: string, value: string, example: string): number {
  const parsed = parseQuantity(value);
  if (parsed === undefined || parsed <= 0) fail(owner, prop, value, `use a positive Kubernetes quantity such as ${example}`);
  return parsed;
}
