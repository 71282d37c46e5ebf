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
# The padmin door is OpenSSH's sshd (installed by install-deps.sh): a drop-in for ivm's users
# only (Match Group ivm-users: their shell finds the daemon, keys come from ivm, no forwarding);
# the administrator's own sshd_config stays as it is.
install -d -m 0755 /etc/ssh/sshd_config.d
/usr/local/lib/ivm/ivm sshd-config --data-dir "${IVM_DATA_DIR:-/var/lib/ivm}" \
    --exe /usr/local/lib/ivm/ivm > /etc/ssh/sshd_config.d/ivm.conf
if [ -d /run/systemd/system ]; then
    systemctl reload-or-restart ssh || true
elif ! pgrep -x sshd >/dev/null; then
    install -d -m 0755 /run/sshd
    /usr/sbin/sshd || echo "ivm: sshd did not start; the IVM commands over SSH need it" >&2
else
    pkill -HUP -x sshd || true
fi
exec /usr/local/lib/ivm/ivm serve --listen "${IVM_LISTEN:-0.0.0.0:8443}" --data-dir "${IVM_DATA_DIR:-/var/lib/ivm}"
