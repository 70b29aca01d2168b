// The two scripts of host-managed DHCP, shipped inside this package (no file lookup at run time)
// and copied by createContainer into <container dir>/oci2lxc/. They are fixed text: nothing
// from the image or the user is ever spliced into them.

/**
 * LXC hook, run as root on the host by LXC through `sh -c "exec HOOK ARGS NAME lxc TYPE …"`:
 * `dhcp-hook start IFACE` (lxc.hook.start-host: the container's network namespace exists, its
 * init has not started) runs busybox's udhcpc inside that namespace only (nsenter --net; mounts,
 * pids and files stay the host's), waits up to ~10 s for a first lease, then leaves the client
 * running in the background to renew it; `dhcp-hook stop IFACE` (lxc.hook.stop and post-stop)
 * stops it. The client's pid file and log live in /run/oci2lxc/dhcp-<cksum of this directory>.
 */
export const DHCP_HOOK_SCRIPT = `#!/bin/sh
# oci2lxc host-managed DHCP hook (installed by oci2lxc create; see its README).
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

fail() { echo "oci2lxc-dhcp: $*" >&2; exit 1; }

action=\${1:-}
ifname=\${2:-}
case $ifname in ''|-*|*[!A-Za-z0-9_.-]*) fail "bad interface name" ;; esac
here=$(cd -P -- "$(dirname -- "$0")" && pwd) || fail "cannot find my directory"
script=$here/udhcpc-script
key=$(printf '%s' "$here" | cksum | cut -d' ' -f1)
run=/run/oci2lxc/dhcp-$key
pidfile=$run/udhcpc.pid

# Is pid $1 our client (its argv names our udhcpc script)? Guards against a recycled pid.
ours() {
    [ -r "/proc/$1/cmdline" ] || return 1
    tr '\\000' '\\n' < "/proc/$1/cmdline" | grep -qxF -- "$script"
}

stop_client() {
    [ -f "$pidfile" ] || return 0
    pid=
    read -r pid < "$pidfile" || true
    case $pid in ''|*[!0-9]*) rm -f -- "$pidfile"; return 0 ;; esac
    if ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while ours "$pid" && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f -- "$pidfile"
}

start_client() {
    ctpid=\${LXC_PID:-}
    case $ctpid in ''|*[!0-9]*) fail "LXC_PID is not set (not run as lxc.hook.start-host?)" ;; esac
    [ -e "/proc/$ctpid/ns/net" ] || fail "no network namespace for pid $ctpid"
    if command -v udhcpc >/dev/null 2>&1; then set -- udhcpc
    elif command -v busybox >/dev/null 2>&1 && busybox udhcpc --help >/dev/null 2>&1; then set -- busybox udhcpc
    else fail "no DHCP client: install busybox-static (or udhcpc)"
    fi
    mkdir -p -m 0700 "$run" || fail "cannot create $run"
    stop_client
    name=
    [ -r "$here/name" ] && read -r name < "$here/name"
    case $name in ''|-*|*[!A-Za-z0-9.-]*) name= ;; esac
    [ -n "$name" ] && set -- "$@" -x "hostname:$name"
    # -t 5 -T 2: up to 10 s for a first lease before the container's init starts, then -b: keep
    # trying in the background. -R: release the lease when stopped.
    nsenter --net="/proc/$ctpid/ns/net" -- "$@" -i "$ifname" -s "$script" -p "$pidfile" -t 5 -T 2 -A 10 -b -R \\
        </dev/null >>"$run/log" 2>&1 || fail "udhcpc failed (see $run/log)"
}

case $action in
    start) start_client ;;
    stop) stop_client ;;
    *) fail "usage: $0 start|stop IFACE" ;;
esac
exit 0
`;

/**
 * busybox udhcpc's event script, run by the client inside the container's network namespace
 * (host mounts). Every lease value is hostile: each is checked to be an IPv4 address (or a DNS
 * name) before it is used, never evaluated, and only passed as one argv element to \`ip\`.
 * Writes the lease's DNS servers and the container's address into the host-side resolv.conf and
 * hosts files next to it (bind-mounted into the container), in place (a rename would leave the
 * container on the old file).
 */
export const UDHCPC_SCRIPT = `#!/bin/sh
# oci2lxc udhcpc event script (installed by oci2lxc create; see its README).
set -u
set -f
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022
here=$(cd -P -- "$(dirname -- "$0")" && pwd) || exit 1
event=\${1:-}

log() { echo "oci2lxc-udhcpc: $*" >&2; }

# A dotted quad: four decimal octets 0-255, no leading zeros (ip reads those as octal).
ipv4() {
    case $1 in ''|*[!0-9.]*|.*|*.|*..*) return 1 ;; esac
    old_ifs=$IFS; IFS=.
    set -- $1
    IFS=$old_ifs
    [ $# -eq 4 ] || return 1
    for o in "$@"; do
        case $o in 0) ;; 0*|????*) return 1 ;; esac
        [ "$o" -le 255 ] || return 1
    done
    return 0
}

# Prefix length from "mask" (udhcpc's) or a dotted "subnet".
prefix_of() {
    case \${mask:-} in [1-9]|[12][0-9]|3[0-2]) echo "$mask"; return 0 ;; esac
    ipv4 "\${subnet:-}" || return 1
    bits=0; old_ifs=$IFS; IFS=.
    set -- $subnet
    IFS=$old_ifs
    # Contiguous masks only: after the first octet below 255, every octet must be 0.
    tail=
    for o in "$@"; do
        if [ -n "$tail" ]; then [ "$o" = 0 ] || return 1; continue; fi
        [ "$o" = 255 ] || tail=1
        case $o in 255) bits=$((bits + 8)) ;; 254) bits=$((bits + 7)) ;; 252) bits=$((bits + 6)) ;; 248) bits=$((bits + 5)) ;;
            240) bits=$((bits + 4)) ;; 224) bits=$((bits + 3)) ;; 192) bits=$((bits + 2)) ;; 128) bits=$((bits + 1)) ;; 0) ;; *) return 1 ;; esac
    done
    [ $bits -gt 0 ] || return 1
    echo $bits
}

dnsname() {
    case $1 in ''|-*|.*|*.|*..*|*[!A-Za-z0-9.-]*) return 1 ;; esac
    [ \${#1} -le 253 ]
}

iface=\${interface:-}
case $iface in ''|-*|*[!A-Za-z0-9_.-]*) log "bad interface name"; exit 1 ;; esac

write_names() {
    addr=$1
    name=
    [ -r "$here/name" ] && read -r name < "$here/name"
    dnsname "$name" || name=
    if [ -n "$name" ] && [ -f "$here/hosts" ]; then
        {
            printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost ip6-loopback\\n'
            printf 'fe00::0\\tip6-localnet\\nff00::0\\tip6-mcastprefix\\nff02::1\\tip6-allnodes\\nff02::2\\tip6-allrouters\\n'
            short=\${name%%.*}
            if [ "$short" = "$name" ]; then printf '%s\\t%s\\n' "$addr" "$name"
            else printf '%s\\t%s %s\\n' "$addr" "$name" "$short"
            fi
        } > "$here/hosts"
    fi
    [ -e "$here/dns-fixed" ] && return 0
    [ -f "$here/resolv.conf" ] || return 0
    servers=
    n=0
    for s in \${dns:-}; do
        ipv4 "$s" || { log "ignoring a DNS server that is not an IPv4 address"; continue; }
        [ $n -lt 3 ] || break
        servers="$servers $s"; n=$((n + 1))
    done
    [ -n "$servers" ] || return 0
    search=
    for d in \${search:-} \${domain:-}; do
        dnsname "$d" && search="$search $d"
    done
    {
        for s in $servers; do printf 'nameserver %s\\n' "$s"; done
        [ -n "$search" ] && printf 'search%s\\n' "$search"
    } > "$here/resolv.conf"
    return 0
}

case $event in
    deconfig)
        ip -4 addr flush dev "$iface"
        ip link set dev "$iface" up
        ;;
    bound|renew)
        a=\${ip:-}
        ipv4 "$a" || { log "lease address is not an IPv4 address"; exit 1; }
        p=$(prefix_of) || { log "lease has no valid subnet mask"; exit 1; }
        if [ "$event" = bound ]; then ip -4 addr flush dev "$iface"; fi
        ip -4 addr replace "$a/$p" dev "$iface" || exit 1
        for r in \${router:-}; do
            ipv4 "$r" || continue
            ip -4 route replace default via "$r" dev "$iface" && break
        done
        write_names "$a"
        ;;
    leasefail|nak) ;;
esac
exit 0
`;
