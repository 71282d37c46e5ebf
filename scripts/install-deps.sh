#!/usr/bin/env bash
# Installs what ivm needs on a Debian 12 host, idempotently. Run as root.
# Rust itself is not a Debian package recent enough (ivm needs 1.87+): install it with rustup.
set -euo pipefail

need_apt=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in gcc pkg-config util-linux; do
    have "$pkg" || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps: cargo not found; install Rust 1.87 or newer (rustup) and run again" >&2
    exit 1
fi
