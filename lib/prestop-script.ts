/**
 * preStop hook of the daemon, shipped in its ConfigMap. A build is running when buildkitd's history holds a
 * record without a completion time (`buildctl debug histories`); the hook waits while one does, at most
 * its first argument in seconds. The pod has already left the Service endpoints, so no new build arrives.
 * (Written without shell braces so that it sits verbatim in this template literal.)
 */
export const PRESTOP_SCRIPT = String.raw`#!/bin/sh
limit=$1
interval=$PRESTOP_INTERVAL
addr=$BUILDKIT_HOST
[ -n "$limit" ] || limit=1800
[ -n "$interval" ] || interval=5
[ -n "$addr" ] || addr=unix:///run/user/1000/buildkit/buildkitd.sock
waited=0
while :; do
  active=$(buildctl --addr "$addr" debug histories \
    --format '{{if .Record}}{{if not .Record.CompletedAt}}active{{end}}{{end}}' 2>/dev/null | grep -c '^active$')
  if [ "$active" -eq 0 ]; then
    echo "prestop: no build running after $waited s"
    exit 0
  fi
  if [ "$waited" -ge "$limit" ]; then
    echo "prestop: $active build(s) still running after $limit s; stopping anyway"
    exit 0
  fi
  sleep "$interval"
  waited=$((waited + interval))
done
`;
