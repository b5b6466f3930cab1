#!/usr/bin/env bash
# The whole suite again, in a copy of this repository with another config.ts, as a user commits it: the tests
# that read config.ts (the committed outputs, the README diagram, the delivery objects, the README's steps) must
# hold for any config.ts, not only for the defaults committed here. .ci/run runs this after npm test.
# Usage: scripts/test-with-config.sh '<the config object>' [TENANT...] (the tenants it names, each initialized)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/test-with-config.sh '{ namespace: ... }' [TENANT...]" >&2; exit 2; }
settings="$1"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
copy="$(mktemp -d "${TMPDIR:-/tmp}/buildkit-config-repo-XXXXXX")"
trap 'rm -rf "$copy"' EXIT

# What a user's clone holds: the tracked files without secrets/, and this checkout's node_modules.
git -C "$root" ls-files -z | grep -zv '^secrets/' | (cd "$root" && xargs -0 cp --parents -t "$copy")
ln -s "$root/node_modules" "$copy/node_modules"
cd "$copy"
default='export const config: ServiceSettings = {};'
grep -qxF "$default" config.ts || { echo "test-with-config: config.ts no longer holds the line '$default'" >&2; exit 1; }
SETTINGS="$settings" node -e '
  const fs = require("node:fs");
  const text = fs.readFileSync("config.ts", "utf8");
  fs.writeFileSync("config.ts", text.replace(process.argv[1], `export const config: ServiceSettings = ${process.env.SETTINGS};`));
' "$default"

# The README's first steps: certificates (each init synthesizes again), then the synth, then a commit.
if [ $# -eq 0 ]; then
  npm run -s certs -- init >/dev/null
else
  for tenant in "$@"; do npm run -s certs -- init --tenant "$tenant" >/dev/null; done
fi
npm run -s synth
git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm "another config.ts"
npm test
