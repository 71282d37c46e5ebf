#!/usr/bin/env bash
# Installs what the benchmarks' baselines need beyond scripts/install-deps.sh: libvirt (the
# migration benchmark measures ivm against `virsh migrate --live`) and socat (its guests'
# consoles). libvirt 11 from bookworm-backports drives QEMU 10; Debian 12's own 9.0 predates it.
# Not part of the test command: libvirt pulls systemd 254 from backports with it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if ! command -v libvirtd >/dev/null || ! command -v socat >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -t bookworm-backports \
        libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients socat
fi
