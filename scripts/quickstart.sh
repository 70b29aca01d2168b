#!/usr/bin/env bash
# Quick start: install what oci2lxc needs (scripts/install-deps.sh: Debian packages, pnpm 10, the
# workspace), build it, build the example image, and run oci2lxc on it.
# As root with LXC, the main job: create the container `demo` in a private lxcpath (a fresh
# temporary directory, never the system's, so a container of yours named demo is never touched),
# start it, show the app's console output, stop it with the image's StopSignal, and remove it.
# Otherwise it says what is missing for that and runs what it can (inspect, extract, config).
# Safe to run again, or twice at once (a second run in the same checkout waits for the first).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# The build rewrites dist/, which a running quick start executes: one at a time per checkout
# (a lock on the checkout's directory itself: no lock file is left behind).
exec 9<"$repo"
if ! flock -n 9; then
  echo "another quick start is running in $repo: waiting for it to finish"
  flock 9
fi

bash scripts/install-deps.sh
pnpm build --output-logs=errors-only
node scripts/example.mjs

oci2lxc() { node "$repo/packages/cli/dist/bin.js" "$@"; }
show() { printf '\n$ %s\n' "$*"; }
image=example/demo-oci.tar

work=$(mktemp -d "${TMPDIR:-/tmp}/oci2lxc-quickstart.XXXXXX")
lxcpath=$work/lxc
started=false
cleanup() {
  if $started; then lxc-stop -n demo -P "$lxcpath" -k >/dev/null 2>&1 || true; fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show oci2lxc inspect "$image"
oci2lxc inspect "$image"

show oci2lxc extract "$image" "$work/rootfs"
oci2lxc extract "$image" "$work/rootfs"
ls -l "$work/rootfs"

missing=()
[ "$(id -u)" = 0 ] || missing+=("root (this quick start creates and starts containers as root)")
command -v lxc-start >/dev/null 2>&1 || missing+=("LXC (apt-get install lxc)")
[ -x /bin/busybox ] || missing+=("/bin/busybox, the demo's shell (apt-get install busybox-static)")
if [ ${#missing[@]} -gt 0 ]; then
  show oci2lxc config "$image" --rootfs "$work/rootfs"
  oci2lxc config "$image" --rootfs "$work/rootfs"
  echo
  echo "Not run: creating and starting the demo container. Missing:"
  printf '  - %s\n' "${missing[@]}"
  exit 0
fi

show oci2lxc create demo "$image" --lxcpath "$lxcpath" --network empty
oci2lxc create demo "$image" --lxcpath "$lxcpath" --network empty
echo "--- $lxcpath/demo/config ---"
cat "$lxcpath/demo/config"

console=$work/console.log
show lxc-start -n demo -P "$lxcpath" -d -L "$console"
started=true
lxc-start -n demo -P "$lxcpath" -d -L "$console"
for _ in $(seq 100); do
  grep -q 'hello from' "$console" 2>/dev/null && break
  sleep 0.2
done

halt=$(sed -n 's/^lxc\.signal\.halt = //p' "$lxcpath/demo/config")
show lxc-stop -n demo -P "$lxcpath" -t 10
echo "(sends lxc.signal.halt = ${halt:-SIGPWR}, the image's StopSignal, and waits up to 10 s)"
lxc-stop -n demo -P "$lxcpath" -t 10
started=false
echo "--- the container's console: the app's output ('bye' is its StopSignal handler) ---"
cat "$console"
echo "---"

if ! grep -q 'hello from' "$console" || ! grep -q '^bye' "$console"; then
  echo "quick start FAILED: the demo app did not print its greeting and its StopSignal handler's 'bye'" >&2
  exit 1
fi
echo
echo "The demo container ran and stopped; its lxcpath $lxcpath is removed now."
