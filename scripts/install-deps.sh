#!/usr/bin/env bash
# Installs what ivm needs on a Debian 12 host, idempotently. Run as root.
# Rust itself is not a Debian package recent enough (ivm needs 1.87+): install it with rustup.
set -euo pipefail

have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
updated=0
apt_update() { ((updated)) || { apt-get update -q; updated=1; }; }
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }

# systemd: its systemd-analyze checks the package's unit (systemd need not be PID 1).
# ovmf: UEFI for boot_firmware=uefi; systemd-boot-efi and fdisk (sfdisk): the test guest's
# GPT disk with an EFI system partition. debootstrap, extlinux: the stock Debian guest.
# debian-installer-12-netboot-amd64: the graphical installer the display's browser test boots.
need=()
for pkg in gcc pkg-config util-linux cpio kmod busybox-static chromium syslinux mtools dosfstools lvm2 \
    isolinux syslinux-common xorriso fio e2fsprogs openssh-server sshpass gawk sudo fence-agents procps \
    systemd ovmf systemd-boot-efi fdisk debootstrap extlinux debian-installer-12-netboot-amd64; do
    have "$pkg" || need+=("$pkg")
done
# Node.js and npm build the browser console; a machine that has them (from any source) keeps them.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    need+=(nodejs npm)
fi
if ((${#need[@]})); then
    apt_update
    apt_install "${need[@]}"
fi

# QEMU 10 from bookworm-backports: Debian 12's own 7.2 fails disk unplug and, installed,
# removes the newer qemu-utils. The backports entry uses the same mirror as the main sources.
if ! command -v qemu-system-x86_64 >/dev/null || ! qemu-system-x86_64 --version | grep -q 'version 10\.'; then
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources | head -n 1 | awk '{print $2}')
        [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | head -n 1 | awk '{print $2}')
        [ -n "$uri" ] || uri=http://deb.debian.org/debian
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$uri" > /etc/apt/sources.list.d/ivm-backports.sources
        updated=0
    fi
    apt_update
    apt_install -t bookworm-backports qemu-system-x86 qemu-utils
fi
# QEMU's userspace block drivers (rbd for Ceph RBD pools), the same version as QEMU itself.
if ! have qemu-block-extra || ! dpkg-query -W -f='${Version}' qemu-block-extra | grep -q '^1:10\.'; then
    apt_update
    apt_install -t bookworm-backports qemu-block-extra
fi
# Ceph's tools for RBD pools (rbd, ceph); the tests also run a single-node cluster of their
# own (ceph-mon, ceph-osd).
ceph=()
for pkg in ceph-common ceph-mon ceph-osd; do
    have "$pkg" || ceph+=("$pkg")
done
if ((${#ceph[@]})); then
    apt_update
    apt_install "${ceph[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps: cargo not found; install Rust 1.87 or newer (rustup) and run again" >&2
    exit 1
fi
