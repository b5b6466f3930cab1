import { isIP, isIPv4 } from 'node:net';
import { fail } from './validation';

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
      fail(
        owner,
        prop,
        value,
        `${kind} address cannot be a LoadBalancer's; use one from your load balancer's address pool, such as 192.168.80.110`,
      );
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
