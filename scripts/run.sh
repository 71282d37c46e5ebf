#!/usr/bin/env bash
# Builds ivm, installs the IVM commands on the PATH and runs the daemon. Run as root.
#   IVM_DATA_DIR  data directory (default /var/lib/ivm)
#   IVM_LISTEN    HTTPS address (default 0.0.0.0:8443)
#   IVM_BIN_DIR   where the command symlinks go (default /usr/local/bin)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build-web.sh
cargo build --release --locked -p ivm
install -D -m 0755 target/release/ivm /usr/local/lib/ivm/ivm
/usr/local/lib/ivm/ivm install-commands "${IVM_BIN_DIR:-/usr/local/bin}"
ln -sf /usr/local/lib/ivm/ivm "${IVM_BIN_DIR:-/usr/local/bin}/ivm"
exec /usr/local/lib/ivm/ivm serve --listen "${IVM_LISTEN:-0.0.0.0:8443}" --data-dir "${IVM_DATA_DIR:-/var/lib/ivm}"
