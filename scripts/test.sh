#!/usr/bin/env bash
# Runs every check and test of ivm. Run as root on Debian 12: tests start real daemons,
# switch Unix users, and (later) run QEMU, cgroups and bridges.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build-web.sh
scripts/build-test-guest.sh target/test-guest
scripts/build-stock-guest.sh target/stock-guest
cargo fmt --all -- --check
# The previous release, for the upgrade test; built before this tree's binary, which it
# shares the target directory with.
scripts/build-previous-release.sh >/dev/null
cargo clippy --workspace --all-targets --locked -- -D warnings
# The crash and fuzz suite is a test target that `cargo test` alone leaves out (it takes minutes).
cargo clippy -p ivm --test crash_fuzz --locked -- -D warnings
cargo test --workspace --locked
# Tests that need what some hosts lack are #[ignore]d with the reason; here they run where
# the feature exists: device-mapper for logical volumes, vhost-net for adapters, cgroup v2 for
# the shared memory pool's lending, KVM on a host that is not itself a VM
# (nested KVM is slower than TCG and ivm would not choose it), systemd as PID 1 for the
# installed service.
if grep -qw device-mapper /proc/misc; then
    cargo test -p ivm --locked --test storage -- --ignored
fi
if [ -e /dev/vhost-net ]; then
    cargo test -p ivm --locked --test ethernet -- --ignored
fi
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    cargo test -p ivm --locked --test shared_memory -- --ignored
fi
if [ -e /dev/kvm ] && ! grep -qw hypervisor /proc/cpuinfo; then
    cargo test -p ivm --locked --test hardening -- --ignored
fi
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    cargo test -p ivm --locked --test package -- --ignored
fi
scripts/crash-fuzz.sh
# The browser console end to end, in Debian's Chromium; screenshots land in artifacts/screenshots.
(cd web && npm run test:e2e)
