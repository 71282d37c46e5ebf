#!/usr/bin/env bash
# ivm side by side with libvirt on this machine, in one run, as ratios ivm / libvirt:
#   1. listing N defined VMs: `lssyscfg -r lpar` against `virsh list --all` (median of RUNS,
#      interleaved);
#   2. daemon memory with N VMs defined: ivm's RSS against libvirtd's, and the anonymous part;
#   3. activation to the guest's ready line for the same guest (kernel, initramfs, 1 vCPU,
#      MEM MB (default 256), serial console to a file): `chsysstate -o on` against
#      `virsh start` (median of RUNS, interleaved).
# libvirt comes from Debian (libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients)
# and runs as a session daemon of the unprivileged user nobody with a HOME of its own under a
# scratch directory (as ivm runs QEMU unprivileged), so the host's libvirt, if any, is not
# touched and no systemd is needed. Everything defined is removed at the end, even on failure.
#   N=1000 RUNS=5 MEM=1024 scripts/bench-vs-libvirt.sh   (run as root, from a built tree)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
N=${N:-1000}
RUNS=${RUNS:-5}
MEM=${MEM:-256}
guest=${IVM_TEST_GUEST:-$root/target/test-guest}

if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
    apt-get install -y -q --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients >/dev/null
fi
[ -s "$guest/vmlinuz" ] || scripts/build-test-guest.sh "$guest"
[ -d web/dist ] || scripts/build-web.sh
cargo build -q --release --locked -p ivm
ivm=$root/target/release/ivm

work=$(mktemp -d /tmp/ivm-vs-libvirt.XXXXXX)
chmod 0755 "$work"
daemon_pid=
cleanup() {
    set +e
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    if [ -n "${libvirt_up:-}" ]; then
        for d in $(virsh list --name 2>/dev/null); do virsh destroy "$d" >/dev/null 2>&1; done
        for d in $(virsh list --all --name 2>/dev/null); do virsh undefine "$d" >/dev/null 2>&1; done
    fi
    for p in $(pgrep -f "qemu-system.*$work"); do kill -9 "$p" 2>/dev/null; done
    # Each daemon's cgroups are named after its data directory (ivm-<sha256 of the path>);
    # partitions' groups end with their QEMU, the daemon's own stays.
    for d in "$work/ivm-many" "$work/ivm-one"; do
        g=ivm-$(printf '%s' "$(realpath -m "$d")" | sha256sum | cut -c1-12)
        for c in /sys/fs/cgroup/*/"$g" /sys/fs/cgroup/"$g"; do
            [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    done
    for p in $(pgrep -x libvirtd); do
        grep -qz "XDG_RUNTIME_DIR=$work" "/proc/$p/environ" 2>/dev/null && kill "$p"
    done
    rm -rf "$work"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
spread() { sort -n | awk 'NR==1 {min=$1} {max=$1} END {printf "min %.3f, max %.3f", min, max}'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
wait_for_line() { # FILE: until the guest's ready line is in it (120 s at most)
    local n=0
    until grep -qa 'IVM-TEST-GUEST READY' "$1" 2>/dev/null; do
        n=$((n + 1)); [ $n -lt 12000 ] || { echo "no ready line in $1" >&2; exit 1; }
        sleep 0.01
    done
}

# libvirt: a session daemon of nobody's (HOME and XDG directories under $work/lv).
lv=$work/lv
mkdir -p "$lv/home/.config" "$lv/home/.cache" "$lv/run" "$lv/xml" "$lv/guest"
# The guest's files where nobody can read them.
cp "$guest/vmlinuz" "$guest/initramfs" "$lv/guest/"
chown -R nobody:nogroup "$lv"
chmod 0700 "$lv/run"
lvenv=(env HOME="$lv/home" XDG_CONFIG_HOME="$lv/home/.config" XDG_CACHE_HOME="$lv/home/.cache"
    XDG_RUNTIME_DIR="$lv/run" LIBVIRT_DEFAULT_URI=qemu:///session)
# setpriv rather than runuser: no PAM session, so the timed virsh calls carry no extra cost.
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups "${lvenv[@]}")
virsh() { "${as_nobody[@]}" virsh "$@"; }
"${as_nobody[@]}" libvirtd --daemon
n=0; until virsh version >/dev/null 2>&1; do n=$((n + 1)); [ $n -lt 500 ] || { echo "libvirtd did not answer" >&2; exit 1; }; sleep 0.02; done
libvirt_up=1
libvirtd_pid=$(for p in $(pgrep -x libvirtd); do grep -qz "XDG_RUNTIME_DIR=$lv/run" "/proc/$p/environ" && echo "$p"; done | head -1)

domain_xml() { # NAME LOG [MB]
    cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>${3:-256}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$lv/guest/vmlinuz</kernel><initrd>$lv/guest/initramfs</initrd>
    <cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  <devices><serial type='file'><source path='$2'/><target port='0'/></serial></devices>
</domain>
XML
}

# ivm: a daemon of its own, first with room for N partitions (the figures below are about
# definitions, not capacity), then with the host as it is for the activations.
start_ivm() { # DATA_DIR TOML
    mkdir -p "$1/boot"
    printf '%sunix_accounts = false\n' "$2" > "$1/ivm.toml"
    "$ivm" serve --listen 127.0.0.1:0 --data-dir "$1" > "$1/serve.log" 2>&1 &
    daemon_pid=$!
    n=0; until grep -q '^ivm: serving' "$1/serve.log"; do
        n=$((n + 1)); [ $n -lt 3000 ] || { cat "$1/serve.log" >&2; exit 1; }; sleep 0.01
    done
}
stop_ivm() { kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=; }

echo "defining $N VMs in each ..."
export IVM_DATA_DIR=$work/ivm-many
start_ivm "$IVM_DATA_DIR" $'installed_procs = 128\ninstalled_mem = 1048576\nmax_lpars = 1100\n'
for i in $(seq 1 "$N"); do
    "$ivm" mksyscfg -r lpar -i "name=vm$i,desired_procs=1,desired_mem=256,virtual_eth_adapters=none"
done
for i in $(seq 1 "$N"); do domain_xml "vm$i" "$lv/vm$i.log" > "$lv/xml/vm$i.xml"; done
chown -R nobody:nogroup "$lv/xml"
# One virsh session defines them all.
(for i in $(seq 1 "$N"); do echo "define $lv/xml/vm$i.xml"; done) | virsh -q > /dev/null
[ "$("$ivm" lssyscfg -r lpar -F name | grep -c '^vm[0-9]')" = "$N" ]
[ "$(virsh list --all --name | grep -c '^vm[0-9]')" = "$N" ]

: > "$work/list-ivm"; : > "$work/list-virsh"
for _ in $(seq 1 "$RUNS"); do
    t=$(now_ns); "$ivm" lssyscfg -r lpar > /dev/null; echo $(( $(now_ns) - t )) >> "$work/list-ivm"
    t=$(now_ns); virsh list --all > /dev/null; echo $(( $(now_ns) - t )) >> "$work/list-virsh"
done
rss_ivm=$(rss_kb "$daemon_pid"); rss_virt=$(rss_kb "$libvirtd_pid")
anon_ivm=$(anon_kb "$daemon_pid"); anon_virt=$(anon_kb "$libvirtd_pid")
stop_ivm
(for i in $(seq 1 "$N"); do echo "undefine vm$i"; done) | virsh -q > /dev/null

echo "activating the same guest $RUNS times in each, interleaved ..."
export IVM_DATA_DIR=$work/ivm-one
start_ivm "$IVM_DATA_DIR" ''
cp "$guest/vmlinuz" "$guest/initramfs" "$IVM_DATA_DIR/boot/"
"$ivm" mksyscfg -r lpar -i "name=ready,desired_procs=1,min_mem=$MEM,desired_mem=$MEM,max_mem=$MEM,virtual_eth_adapters=none,boot_kernel=vmlinuz,boot_initrd=initramfs,\"boot_args=console=ttyS0 quiet\""
domain_xml ready "$lv/ready.log" "$MEM" > "$lv/xml/ready.xml"
chown nobody:nogroup "$lv/xml/ready.xml"
virsh -q define "$lv/xml/ready.xml" > /dev/null
: > "$work/act-ivm"; : > "$work/act-virsh"; : > "$work/act-ratio"
ivm_log=$IVM_DATA_DIR/lpars/2/console.log
for _ in $(seq 1 "$RUNS"); do
    rm -f "$ivm_log"
    t=$(now_ns); "$ivm" chsysstate -r lpar -o on -n ready; wait_for_line "$ivm_log"; a=$(( $(now_ns) - t ))
    "$ivm" chsysstate -r lpar -o shutdown --immed -n ready
    rm -f "$lv/ready.log"
    t=$(now_ns); virsh -q start ready > /dev/null; wait_for_line "$lv/ready.log"; b=$(( $(now_ns) - t ))
    virsh -q destroy ready > /dev/null
    echo "$a" >> "$work/act-ivm"; echo "$b" >> "$work/act-virsh"
    awk -v a="$a" -v b="$b" 'BEGIN {printf "%.4f\n", a / b}' >> "$work/act-ratio"
done
accel=$("$ivm" lssyscfg -r sys -F accel)

li=$(median < "$work/list-ivm"); lvm=$(median < "$work/list-virsh")
ai=$(median < "$work/act-ivm"); av=$(median < "$work/act-virsh")
echo
echo "ivm $(git describe --always --dirty) against libvirt $(virsh --version), $N VMs, $(nproc) CPUs, accelerator $accel (libvirt: domain type qemu)"
awk -v i="$li" -v v="$lvm" -v n="$RUNS" 'BEGIN {printf "listing all:          lssyscfg -r lpar %7.1f ms, virsh list --all %7.1f ms, ratio %.2f (median of %d)\n", i/1e6, v/1e6, i/v, n}'
awk -v i="$rss_ivm" -v v="$rss_virt" 'BEGIN {printf "daemon RSS:           ivm %7.1f MB, libvirtd %7.1f MB, ratio %.2f\n", i/1024, v/1024, i/v}'
# RSS counts the program's own code the kernel mapped in around each page it ran (fault-around,
# 64 KB), shared with the page cache; the anonymous part is what the daemon itself holds.
awk -v i="$anon_ivm" -v v="$anon_virt" 'BEGIN {printf "  of which anonymous: ivm %7.1f MB, libvirtd    %7.1f MB, ratio %.2f\n", i/1024, v/1024, i/v}'
awk -v i="$ai" -v v="$av" -v n="$RUNS" -v m="$MEM" 'BEGIN {printf "activation to ready:  ivm %7.3f s, virsh start %7.3f s, ratio %.2f (%d MB guest, median of %d, interleaved)\n", i/1e9, v/1e9, i/v, m, n}'
echo "activation ratio per pair: median $(median < "$work/act-ratio"), $(spread < "$work/act-ratio")"
