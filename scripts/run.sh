#!/usr/bin/env bash
# Runs ivm on this machine as its package does. Run as root on Debian 12.
# Builds ivm's Debian package from this tree (scripts/build-deb.sh) and installs it with apt
# (which brings what it depends on). Where systemd is PID 1 the package's postinst enables and
# starts ivm.service, and this script only says so; where it is not (a container, a chroot,
# this project's development machine) this script runs the daemon in the foreground, as the
# service would, until Ctrl-C (partitions keep running and are adopted at the next start).
#   IVM_LISTEN  HTTPS address of the foreground daemon (default 0.0.0.0:8443; the service
#               reads it from /etc/default/ivm)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
deb=$(scripts/build-deb.sh | tail -n 1)
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb"
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    echo "ivm: installed $deb; systemd runs the daemon as ivm.service (systemctl status ivm, journalctl -u ivm)"
    exit 0
fi
echo "ivm: installed $deb; systemd is not PID 1 here, so the daemon runs in the foreground (Ctrl-C stops it, not the partitions)"
# The padmin door is OpenSSH's sshd, reading the package's drop-in for ivm's users.
if ! pgrep -x sshd >/dev/null; then
    install -d -m 0755 /run/sshd
    /usr/sbin/sshd || echo "ivm: sshd did not start; the IVM commands over SSH need it" >&2
fi
exec env IVM_CONFIG=/etc/ivm/ivm.toml /usr/lib/ivm/ivm serve --data-dir /var/lib/ivm \
    --listen "${IVM_LISTEN:-0.0.0.0:8443}"
