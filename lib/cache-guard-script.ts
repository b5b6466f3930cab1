/**
 * The cache guard, shipped in the daemon's ConfigMap and run by the `cache-guard` container beside the
 * daemon: every interval it reads BuildKit's own accounting of the cache (`buildctl du`, the sizes the GC
 * acts on) over the daemon's unix socket, and at or above the GC threshold prunes with `buildctl prune
 * --keep-storage`, which BuildKit's once-a-minute GC throttle does not delay and which never removes what a
 * running build holds. It needs only buildctl, grep, cut and sleep (busybox in the BuildKit image).
 *
 * Arguments: threshold in bytes, keep in MB (10^6 bytes, buildctl's unit), interval in seconds. GUARD_ADDR
 * sets the daemon's address; GUARD_ONCE=1 runs one round (for tests). It exits only when asked to stop and
 * the daemon no longer answers, so that it guards the cache during the preStop drain too.
 * (Written without shell braces so that it sits verbatim in this template literal.)
 */
export const CACHE_GUARD_SCRIPT = String.raw`#!/bin/sh
threshold=$1
keep=$2
interval=$3
addr=$GUARD_ADDR
[ -n "$addr" ] || addr=unix:///run/buildkit/buildkitd.sock
case "$threshold:$keep:$interval" in
  *[!0-9:]*|:*|*::*|*:) echo "cache-guard: usage: cache-guard.sh THRESHOLD_BYTES KEEP_MB INTERVAL_SECONDS" >&2; exit 2 ;;
esac
stopping=0
trap 'stopping=1' TERM INT
echo "cache-guard: pruning to $keep MB whenever usage reaches $threshold bytes, checked every $interval s on $addr"
while :; do
  if out=$(buildctl --addr "$addr" du --format '{{json .}}' 2>&1); then
    case "$out" in
      null|'['*']')
        used=0
        for size in $(printf '%s\n' "$out" | grep -o '"size":[0-9]*' | cut -d: -f2); do used=$((used + size)); done
        if [ "$used" -ge "$threshold" ]; then
          echo "cache-guard: usage $used bytes reached $threshold: pruning to $keep MB"
          if result=$(buildctl --addr "$addr" prune --keep-storage "$keep" 2>&1); then
            echo "cache-guard: pruned; $(printf '%s\n' "$result" | grep '^Total:' || echo 'Total: 0')"
          else
            echo "cache-guard: prune failed: $(printf '%s\n' "$result" | tail -n 1)"
          fi
        fi
        ;;
      *) echo "cache-guard: unreadable usage from buildctl du: $(printf '%s\n' "$out" | head -n 1 | cut -c1-200)" ;;
    esac
  else
    [ "$stopping" = 1 ] && { echo "cache-guard: daemon stopped; exiting"; exit 0; }
    echo "cache-guard: daemon not answering on $addr: $(printf '%s\n' "$out" | tail -n 1 | cut -c1-200); retrying in $interval s"
  fi
  [ "$GUARD_ONCE" = 1 ] && exit 0
  sleep "$interval" &
  wait $!
done
`;
