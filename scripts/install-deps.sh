#!/usr/bin/env bash
# Installs what oci2lxc needs on a Debian or Ubuntu machine: the system tools the quick start runs
# and the tests use as oracles (THE list: .ci/run and scripts/quickstart.sh both call this script),
# pnpm 10, and the workspace's dependencies.
#   As root with apt-get: installs only the missing packages (apt-get update only then).
#   Otherwise: says exactly which packages are missing and the command that installs them, and
#   goes on with the rest (pnpm, the workspace), so that what can run still runs.
# Usage: bash scripts/install-deps.sh [--system-only | --no-workspace]
#   --system-only   the Debian packages only
#   --no-workspace  the Debian packages and pnpm, not the workspace's dependencies
# Exit status: 0 when everything this user can install is installed, 1 when an install failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian packages (Debian 12+/Ubuntu 22.04+ names).
PACKAGES=(
  lxc              # lxc-start/-stop/-create: the quick start's container, the real-LXC tests
  umoci            # umoci raw unpack: the reference rootfs the extractor is compared with
  skopeo           # copies and inspects images: the interop corpus
  podman           # builds and saves real images (vfs storage): interop and end-to-end tests
  busybox-static   # /bin/busybox: the runnable rootfs of the example image and the LXC tests
  zstd             # zstd -dc: the benchmarks' decompression floor
  attr             # getfattr/setfattr: xattr checks
  dnsmasq-base     # /usr/sbin/dnsmasq alone; the `dnsmasq` package would also run a DNS daemon on port 53
  docker-registry  # /usr/bin/docker-registry, run by the tests on a port of their own (the package's service is kept off)
  golang-go        # go: test helpers written in Go
  bash-static      # a static bash for test rootfs
  iproute2         # ip: network namespaces and veth pairs in tests
  openssl          # test certificates and keys (the registry token server)
)
# Packages whose Debian service the tests must not find running (they start their own instance).
NO_SERVICE=(docker-registry)

system_only=false workspace=true
for arg in "$@"; do
  case "$arg" in
    --system-only) system_only=true ;;
    --no-workspace) workspace=false ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

say() { printf 'install-deps: %s\n' "$*" >&2; }

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do installed "$p" || printf '%s\n' "$p"; done
}

# Debian's maintainer scripts start a package's service at install time (invoke-rc.d and
# deb-systemd-invoke both ask /usr/sbin/policy-rc.d first). Exit status 101 = "not allowed".
POLICY=/usr/sbin/policy-rc.d
policy_added=false
forbid_service_starts() {
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# Written by oci2lxc scripts/install-deps.sh for the duration of an install: no service starts.\nexit 101\n' > "$POLICY"
    chmod 0755 "$POLICY"
    policy_added=true
  fi
}
restore_policy() {
  if $policy_added; then rm -f "$POLICY"; policy_added=false; fi
}

# A service enabled by the install would start at the next boot: disable (and stop) those the
# tests start themselves, for the packages installed now only.
keep_services_off() {
  local p
  for p in "$@"; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now "$p.service" >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null 2>&1 && [ -e "/etc/init.d/$p" ]; then
      invoke-rc.d "$p" stop >/dev/null 2>&1 || true
      update-rc.d "$p" disable >/dev/null 2>&1 || true
    fi
    say "$p: its service is disabled (the tests run their own $p on a port of their own)"
  done
}

install_system_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    say "no dpkg/apt-get here: install the equivalents of these Debian packages yourself: ${PACKAGES[*]}"
    return 0
  fi
  local missing
  mapfile -t missing < <(missing_packages)
  if [ ${#missing[@]} -eq 0 ]; then
    say "system packages: all installed (${PACKAGES[*]})"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${missing[*]}"
    say "install them as root with:  apt-get install -y ${missing[*]}"
    say "going on without them (what needs them is skipped by the quick start; 'pnpm test' names each missing tool)"
    return 0
  fi
  # One install at a time on this machine (two quick starts at once); the list is re-read after
  # the wait, since the other run may have installed it.
  local lockdir=/run/lock
  [ -d "$lockdir" ] && [ -w "$lockdir" ] || lockdir=/tmp
  exec 8>"$lockdir/oci2lxc-install-deps.lock"
  flock 8
  mapfile -t missing < <(missing_packages)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing: ${missing[*]}"
    trap restore_policy EXIT
    forbid_service_starts
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    # 8>&-: a service started anyway must not inherit (and hold) the lock.
    "${apt[@]}" update -qq 8>&-
    "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null 8>&-
    restore_policy
    trap - EXIT
    local p off=()
    for p in "${NO_SERVICE[@]}"; do
      if printf '%s\n' "${missing[@]}" | grep -qx "$p"; then off+=("$p"); fi
    done
    [ ${#off[@]} -eq 0 ] || keep_services_off "${off[@]}"
    mapfile -t missing < <(missing_packages)
    if [ ${#missing[@]} -gt 0 ]; then
      say "still missing after apt-get install: ${missing[*]}"
      exit 1
    fi
  fi
  flock -u 8
  say "system packages: all installed"
}

install_pnpm() {
  if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    say "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)); install it, then run this again"
    exit 1
  fi
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null | cut -d. -f1)" = 10 ]; then return 0; fi
  say "installing pnpm 10: npm install -g pnpm@10"
  if npm install -g pnpm@10 >/dev/null 2>&1; then
    hash -r
  else
    # Not root (npm's global prefix is not writable): a per-user install.
    npm install -g --prefix "$HOME/.local" pnpm@10 >/dev/null
    export PATH="$HOME/.local/bin:$PATH"
    say "pnpm 10 installed in ~/.local/bin: add it to PATH (export PATH=\"\$HOME/.local/bin:\$PATH\") for 'pnpm test'"
  fi
  pnpm --version >/dev/null
}

install_system_packages
if ! $system_only; then
  install_pnpm
  if $workspace; then pnpm install --frozen-lockfile; fi
fi
