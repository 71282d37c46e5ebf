#!/usr/bin/env bash
# Runs every check and test of ivm. Run as root on Debian 12: tests start real daemons,
# switch Unix users, and (later) run QEMU, cgroups and bridges.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build-web.sh
scripts/build-test-guest.sh target/test-guest
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The crash and fuzz suite is a test target that `cargo test` alone leaves out (it takes minutes).
cargo clippy -p ivm --test crash_fuzz --locked -- -D warnings
cargo test --workspace --locked
scripts/crash-fuzz.sh
# The browser console end to end, in Debian's Chromium; screenshots land in artifacts/screenshots.
(cd web && npm run test:e2e)
