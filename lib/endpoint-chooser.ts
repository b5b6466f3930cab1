import { connect } from 'node:net';

/**
 * Rendezvous (highest-random-weight) hashing of a key (a repository) onto a daemon's per-replica endpoints,
 * so that each repository lands on the replica whose cache holds it, and adding or removing a replica moves
 * only the keys it takes or held. The score is POSIX `cksum` of `key|endpoint` through an integer mixer
 * (cksum alone is linear over GF(2) and splits keys lopsidedly): the shell script in endpointScript()
 * computes exactly the same, so runners without Node agree with this library.
 */

const CKSUM_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i << 24;
  for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
  return c >>> 0;
});

/** POSIX cksum: CRC-32 (polynomial 0x04C11DB7, MSB first) over the bytes, then their length, inverted. */
export function cksum(data: Buffer): number {
  let crc = 0;
  const step = (byte: number) => {
    crc = ((crc << 8) ^ CKSUM_TABLE[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  };
  for (const byte of data) step(byte);
  for (let n = data.length; n > 0; n = Math.floor(n / 256)) step(n & 0xff);
  return ~crc >>> 0;
}

/** x ^= x >> 16, times 73244475, twice, then x ^= x >> 16: what the script does in 64-bit shell arithmetic. */
function mix(x: number): number {
  for (let i = 0; i < 2; i++) x = Math.imul((x ^ (x >>> 16)) >>> 0, 73244475) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export function rendezvousScore(key: string, endpoint: string): number {
  return mix(cksum(Buffer.from(`${key}|${endpoint}`, 'utf8')));
}

/**
 * The endpoint grammar, the same in the script's valid_endpoint(): a host of letters, digits, dots and dashes
 * that starts and ends with a letter or digit, a colon, and a port from 1 to 65535.
 */
const HOST_PORT = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:(\d{1,5})$/;
export function isEndpoint(endpoint: string): boolean {
  const port = Number(HOST_PORT.exec(endpoint)?.[2] ?? 0);
  return port >= 1 && port <= 65535;
}

/** Bad input to the chooser (the script exits 2 on the same). */
export class ChooserUsageError extends Error {}

function checkInput(key: string, endpoints: readonly string[]): void {
  if (!key) throw new ChooserUsageError('the key is empty: give the repository, such as org/app');
  if (endpoints.length === 0) throw new ChooserUsageError('no endpoints: give host:port of each replica');
  for (const e of endpoints)
    if (!isEndpoint(e)) throw new ChooserUsageError(`invalid endpoint ${JSON.stringify(e)}: use host:port, such as 192.168.80.111:1234`);
  const duplicate = endpoints.find((e, i) => endpoints.indexOf(e) !== i);
  if (duplicate) throw new ChooserUsageError(`endpoint ${duplicate} is listed twice`);
}

/** The endpoints in the order a key tries them: highest score first, ties by name. */
export function rankEndpoints(key: string, endpoints: readonly string[]): string[] {
  checkInput(key, endpoints);
  return endpoints
    .map((e) => ({ e, s: rendezvousScore(key, e) }))
    .sort((a, b) => b.s - a.s || (a.e < b.e ? -1 : 1))
    .map((x) => x.e);
}

function accepts(endpoint: string, timeoutMs: number): Promise<boolean> {
  const i = endpoint.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The first endpoint in the key's order that accepts a TCP connection within the timeout. */
export async function chooseEndpoint(key: string, endpoints: readonly string[], timeoutMs = 1000): Promise<string> {
  for (const endpoint of rankEndpoints(key, endpoints)) if (await accepts(endpoint, timeoutMs)) return endpoint;
  throw new Error(`no endpoint accepts connections: ${endpoints.join(', ')}`);
}

/**
 * The chooser as a POSIX sh script (dash, busybox sh: no bash-isms), the endpoints filled in: prints the
 * chosen host:port for the key given. The failover probe uses `nc -z -w`, else bash's /dev/tcp under
 * `timeout`, for BUILDKIT_ENDPOINT_TIMEOUT seconds (1); with neither, it prints the first-ranked endpoint
 * unprobed and says so on stderr.
 */
export function endpointScript(endpoints: readonly string[]): string {
  endpoints.forEach((e) => {
    if (!isEndpoint(e)) throw new ChooserUsageError(`invalid endpoint ${JSON.stringify(e)}: use host:port`);
  });
  return `#!/bin/sh
# buildkit-endpoint KEY [ENDPOINT...]: the replica whose cache holds KEY (a repository), by rendezvous
# hashing, failing over to the next when it does not accept TCP. Written by buildkit-service (certs export);
# its scores match the library's rankEndpoints(). Exit 0 with host:port, 1 none reachable, 2 bad input.
# BUILDKIT_ENDPOINT_TIMEOUT: seconds a replica has to accept TCP (1).
set -u
# No pathname expansion: an endpoint such as '?z:9' must never match a file.
set -f
ENDPOINTS="${endpoints.join(' ')}"

# Sets score to the rendezvous score of a cksum CRC: the library's integer mixer, in 64-bit shell arithmetic.
mix() {
  x=$(( (($1 ^ ($1 >> 16)) * 73244475) & 4294967295 ))
  x=$(( ((x ^ (x >> 16)) * 73244475) & 4294967295 ))
  score=$(( x ^ (x >> 16) ))
}

# Sets score to the rendezvous score of KEY|ENDPOINT (no subshell: one cksum process per endpoint).
score() {
  x=$(printf '%s|%s' "$1" "$2" | cksum)
  mix "\${x%% *}"
}

# Endpoints of KEY, best first: "score endpoint" lines sorted by score, ties by name.
rank() {
  key=$1; shift
  for e in "$@"; do score "$key" "$e"; echo "$score $e"; done | sort -k1,1nr -k2,2 | cut -d ' ' -f 2
}

reachable() {
  host=\${1%:*}; port=\${1##*:}
  if command -v nc >/dev/null 2>&1; then nc -z -w "$probe_seconds" "$host" "$port" >/dev/null 2>&1; return; fi
  if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
    timeout "$probe_seconds" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" >/dev/null 2>&1; return
  fi
  return 2
}

usage() { echo "buildkit-endpoint: $1" >&2; exit 2; }

# The library's endpoint grammar (isEndpoint): host of [A-Za-z0-9.-], starting and ending with a letter or
# digit, a colon, a port from 1 to 65535.
valid_endpoint() {
  case "$1" in *:*:*|:*|*:|*[!A-Za-z0-9.:-]*) return 1 ;; *:*) ;; *) return 1 ;; esac
  host=\${1%:*}; port=\${1##*:}
  case "$host" in [!A-Za-z0-9]*|*[!A-Za-z0-9]) return 1 ;; esac
  case "$port" in *[!0-9]*) return 1 ;; esac
  [ \${#port} -le 5 ] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ]
}

[ "\${BUILDKIT_ENDPOINT_LIB:-}" = 1 ] && return 0 2>/dev/null
probe_seconds=\${BUILDKIT_ENDPOINT_TIMEOUT:-1}
case "$probe_seconds" in *[!0-9]*|0*) usage "invalid BUILDKIT_ENDPOINT_TIMEOUT \\"$probe_seconds\\": use whole seconds, such as 1" ;; esac
[ $# -ge 1 ] || usage 'give the key, such as "$GITHUB_REPOSITORY"'
key=$1; shift
[ -n "$key" ] || usage 'the key is empty: give the repository, such as org/app'
# Each argument is one endpoint: checked before the list is split on spaces.
for e in "$@"; do valid_endpoint "$e" || usage "invalid endpoint \\"$e\\": use host:port, such as 192.168.80.111:1234"; done
[ $# -gt 0 ] && ENDPOINTS="$*"
[ -n "$ENDPOINTS" ] || usage 'no endpoints: give host:port of each replica'
command -v cksum >/dev/null 2>&1 || usage 'no cksum on PATH, which ranks the endpoints: install coreutils (or busybox with its cksum applet)'
seen=' '
for e in $ENDPOINTS; do
  valid_endpoint "$e" || usage "invalid endpoint \\"$e\\": use host:port, such as 192.168.80.111:1234"
  case "$seen" in *" $e "*) usage "endpoint $e is listed twice" ;; esac
  seen="$seen$e "
done
# shellcheck disable=SC2086
for e in $(rank "$key" $ENDPOINTS); do
  reachable "$e"
  case $? in
    0) echo "$e"; exit 0 ;;
    2) echo "buildkit-endpoint: no nc, nor bash with timeout, to probe $e: not checked" >&2; echo "$e"; exit 0 ;;
  esac
done
echo "buildkit-endpoint: no endpoint accepts connections: $ENDPOINTS" >&2
exit 1
`;
}
