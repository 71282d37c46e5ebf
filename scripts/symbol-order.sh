#!/usr/bin/env bash
# Writes crates/ivm/symbol-order.txt: the functions of ivm's binary that the daemon runs while it
# starts, serves the commands, the REST API and the console, and idles, as valgrind's callgrind
# records them from the release build. Release builds link these functions first
# (crates/ivm/build.rs, lld's --symbol-ordering-file): the kernel maps a daemon's code in 64 KB
# around each page it runs (fault-around), so code it runs scattered among code it never runs
# keeps most of the binary resident. Run again after a Rust toolchain upgrade or a large change
# (names that no longer exist are skipped by the linker, so a stale list costs memory, not
# correctness).
#   scripts/symbol-order.sh            (as root, from a built tree; takes a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
command -v valgrind >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends valgrind >/dev/null
[ -d web/dist ] || scripts/build-web.sh
# Release builds require the list; the first one is made from an empty list (the names
# callgrind records do not depend on the order).
[ -e crates/ivm/symbol-order.txt ] || : > crates/ivm/symbol-order.txt
cargo build -q --release --locked -p ivm
ivm=$root/target/release/ivm

work=$(mktemp -d /tmp/ivm-symbol-order.XXXXXX)
pid=
cleanup() {
    set +e
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

export IVM_DATA_DIR=$work/data
mkdir -p "$IVM_DATA_DIR/boot"
printf 'installed_procs = 16\ninstalled_mem = 65536\nunix_accounts = false\n' > "$IVM_DATA_DIR/ivm.toml"
echo 'order-the-symbols-1' | "$ivm" passwd padmin > /dev/null

valgrind -q --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$work/cg.out" \
    "$ivm" serve --listen 127.0.0.1:0 --data-dir "$IVM_DATA_DIR" > "$work/serve.log" 2>&1 &
pid=$!
n=0; until grep -q '^ivm: serving' "$work/serve.log"; do
    n=$((n + 1)); [ $n -lt 1200 ] || { cat "$work/serve.log" >&2; exit 1; }; sleep 0.1
done
url=$(grep -o 'https://[0-9.]*:[0-9]*' "$work/serve.log" | head -n 1)

# The commands, as an administrator's session and a client's polling run them.
for i in $(seq 1 20); do
    "$ivm" mksyscfg -r lpar -i "name=lp$i,desired_procs=1,desired_mem=256,virtual_eth_adapters=none"
done
"$ivm" chsyscfg -r prof -i "lpar_name=lp1,max_mem=1024,desired_mem=512"
for _ in 1 2 3; do
    "$ivm" lssyscfg -r sys > /dev/null
    "$ivm" lssyscfg -r lpar > /dev/null
    "$ivm" lssyscfg -r lpar --filter lpar_names=lp2 -F name,state > /dev/null
    "$ivm" lssyscfg -r prof > /dev/null
    "$ivm" lshwres -r proc --level lpar > /dev/null
    "$ivm" lshwres -r mem --level sys > /dev/null
    "$ivm" lsrefcode -r lpar > /dev/null
done
"$ivm" lssp > /dev/null || true
"$ivm" lsmap -all > /dev/null || true
"$ivm" rmsyscfg -r lpar -n lp20

# The console and the REST API: the page, a login, the reads its pages make.
curl() { command curl -sk --max-time 300 -o /dev/null -w "%{http_code} " "$@"; }
echo -n "the console's answers: "
curl "$url/"
curl -c "$work/cookies" -H 'Content-Type: application/json' \
    -d '{"user":"padmin","password":"order-the-symbols-1"}' "$url/api/v1/login"
for path in system partitions partitions/2 system/resources tasks storage; do
    curl -b "$work/cookies" "$url/api/v1/$path"
done
echo
# Idle long enough for the sampler and the heartbeat to run.
sleep 5

kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=
# Every function callgrind saw run or be called, kept where the binary defines it.
grep -oE '^c?fn=\([0-9]+\) .*' "$work/cg.out" | sed -E 's/^c?fn=\([0-9]+\) //' | sort -u > "$work/ran"
nm --defined-only "$ivm" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u > "$work/defined"
comm -12 "$work/ran" "$work/defined" > crates/ivm/symbol-order.txt
echo "crates/ivm/symbol-order.txt: $(wc -l < crates/ivm/symbol-order.txt) functions"
