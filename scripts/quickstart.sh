#!/usr/bin/env bash
# Quick start: install the workspace, build it, build the example image, and run oci2lxc on it.
# As root with LXC installed, also create the container, start it, show its output and stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10
pnpm install
pnpm build
node scripts/example.mjs
oci2lxc() { node packages/cli/dist/bin.js "$@"; }

echo; echo "\$ oci2lxc inspect example/demo-oci.tar"
oci2lxc inspect example/demo-oci.tar

echo; echo "\$ oci2lxc extract example/demo-oci.tar example/rootfs"
rm -rf example/rootfs
oci2lxc extract example/demo-oci.tar example/rootfs
ls -l example/rootfs

if [ "$(id -u)" = 0 ] && command -v lxc-start >/dev/null 2>&1; then
  lxcpath="$PWD/example/lxc"
  lxc-stop -n demo -P "$lxcpath" -k >/dev/null 2>&1 || true
  echo; echo "\$ oci2lxc create demo example/demo-oci.tar --lxcpath $lxcpath --network empty --force"
  oci2lxc create demo example/demo-oci.tar --lxcpath "$lxcpath" --network empty --force
  echo; echo "--- generated $lxcpath/demo/config ---"; cat "$lxcpath/demo/config"
  console="$PWD/example/demo-console.log"; rm -f "$console"
  echo; echo "\$ lxc-start -n demo -P $lxcpath -d -L $console; sleep 2; lxc-stop -n demo -P $lxcpath"
  lxc-start -n demo -P "$lxcpath" -d -L "$console"
  sleep 2
  lxc-stop -n demo -P "$lxcpath" -t 10
  echo "--- the container's console (the entrypoint's output; 'bye' is its StopSignal handler) ---"
  cat "$console"
else
  echo; echo "(run as root with LXC installed to also create and start a container)"
fi
