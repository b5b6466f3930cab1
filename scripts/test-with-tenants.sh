#!/usr/bin/env bash
# The whole suite again, in a copy of this repository whose config.ts has tenants: the tests that read config.ts
# (the committed outputs, the README diagram, the delivery objects, the README's steps) must hold for any
# config.ts a user commits, not only for the one committed here. .ci/run runs this after npm test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
copy="$(mktemp -d "${TMPDIR:-/tmp}/buildkit-tenants-repo-XXXXXX")"
trap 'rm -rf "$copy"' EXIT

# What a user's clone holds: the tracked files without secrets/, and this checkout's node_modules.
git -C "$root" ls-files -z | grep -zv '^secrets/' | (cd "$root" && xargs -0 cp --parents -t "$copy")
ln -s "$root/node_modules" "$copy/node_modules"
cd "$copy"
sed -i 's|^export const config: ServiceSettings = {};$|export const config: ServiceSettings = {\n  tenants: [\n    { name: '"'team-a'"', loadBalancerIP: '"'192.168.80.121'"' },\n    { name: '"'team-b'"', loadBalancerIP: '"'192.168.80.122'"', replicas: 2, workload: '"'statefulset'"' },\n  ],\n};|' config.ts
grep -q "name: 'team-b'" config.ts || { echo "test-with-tenants: config.ts no longer holds 'export const config: ServiceSettings = {};'" >&2; exit 1; }

# The README's first steps, per tenant; each init synthesizes again.
for tenant in team-a team-b; do npm run -s certs -- init --tenant "$tenant" >/dev/null; done
npm run -s synth
git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm "tenants"
npm test -- "$@"
