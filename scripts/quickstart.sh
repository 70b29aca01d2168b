#!/usr/bin/env bash
# Quick start: install the workspace, build it, build the example image, and run oci2lxc on it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10
pnpm install
pnpm build
node scripts/example.mjs
echo
echo "\$ oci2lxc inspect example/demo-oci.tar"
node packages/cli/dist/bin.js inspect example/demo-oci.tar
