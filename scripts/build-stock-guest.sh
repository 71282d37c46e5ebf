#!/usr/bin/env bash
# Builds a stock Debian 12 guest as a new user would: debootstrap from Debian's packages with
# the distribution's kernel (linux-image-cloud-amd64), qemu-guest-agent and cloud-init (which
# finds nothing to do without a seed and then stays out of the way), on an ext4 root
# file system on a GPT disk booted by EXTLINUX under BIOS and by systemd-boot from its EFI system
# partition under UEFI, with nothing ivm-specific: no kernel
# arguments but `root=` and the serial console, no udev rules, no onlining helpers. Root logs in
# on the serial console without a password (systemd's getty autologin), so a test can type
# commands there. D-Bus is included as apt would (systemd recommends it): without it logind
# does not run, and neither the power button nor the agent's shutdown (shutdown +0) works.
# Leaves OUTDIR/stock.img (raw) and OUTDIR/stock.qcow2 (the same disk).
#
# Needs: debootstrap, extlinux, syslinux-common, e2fsprogs, fdisk (sfdisk), mtools,
# systemd-boot-efi, qemu-utils, mount
# and a loop device (scripts/install-deps.sh installs the packages). Runs as root.
set -euo pipefail

out=${1:?usage: build-stock-guest.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -s "$out/stock.img" ] && [ -s "$out/stock.qcow2" ] && [ "$out/stock.qcow2" -nt "$0" ]; then
    echo "stock guest already built in $out"
    exit 0
fi

# The mirror apt uses here (deb822 sources or a one-line list).
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
fi
[ -n "$mirror" ] || { echo "build-stock-guest: no Debian mirror in apt's sources" >&2; exit 1; }

work=$(mktemp -d)
mnt=$work/mnt
cleanup() {
    mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
    for m in proc sys dev; do mountpoint -q "$work/root/$m" 2>/dev/null && umount -l "$work/root/$m"; done
    rm -rf "$work"
}
trap cleanup EXIT
root=$work/root

debootstrap --variant=minbase \
    --include=linux-image-cloud-amd64,systemd-sysv,dbus,udev,kmod,qemu-guest-agent,iproute2,procps \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# cloud-init with apt, as an administrator adds a package (debootstrap's own resolver cannot
# configure its Python dependencies in one pass).
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends cloud-init \
    >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; exit 1; }
umount "$root/dev" "$root/sys" "$root/proc"

echo stock > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 stock\n' > "$root/etc/hosts"
passwd_root() { chroot "$root" passwd -d root >/dev/null; }
passwd_root
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
# No shell prompt decorations a test would have to parse around; a fixed prompt instead.
echo 'PS1="stock# "' >> "$root/root/.bashrc"
apt_clean() { rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*; }
apt_clean

# The root file system as an image of its own, the boot loader installed on it mounted.
fs=$work/root.ext4
size_mb=1024
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "UUID=$uuid / ext4 defaults 0 1" > "$root/etc/fstab"
kernel=$(cd "$root/boot" && ls vmlinuz-* | head -1)
initrd=$(cd "$root/boot" && ls initrd.img-* | head -1)
mkdir -p "$root/boot/extlinux"
cat > "$root/boot/extlinux/extlinux.conf" <<EOF
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  KERNEL /boot/$kernel
  INITRD /boot/$initrd
  APPEND root=UUID=$uuid ro console=ttyS0
EOF
# EXTLINUX reads neither 64-bit ext4 nor metadata checksums.
truncate -s "${size_mb}M" "$fs"
mkfs.ext4 -q -F -U "$uuid" -O ^64bit,^metadata_csum -L stock -d "$root" "$fs"
mkdir -p "$mnt"
mount -o loop "$fs" "$mnt"
extlinux --install "$mnt/boot/extlinux" >/dev/null 2>&1
umount "$mnt"

# The disk, bootable both ways, as a hybrid install is: GPT with an EFI system partition
# (systemd-boot as the removable-media loader, the same kernel and initrd beside it, built with
# mtools at its offset, nothing mounted) and the root file system marked legacy-BIOS-bootable,
# which SYSLINUX's GPT MBR code starts EXTLINUX from under BIOS.
esp_mb=96
img=$work/stock.img
truncate -s $((size_mb + esp_mb + 2))M "$img"
printf 'label: gpt\nstart=2048, size=%sMiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"\nstart=%s, size=%sMiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root, attrs="LegacyBIOSBootable"\n' \
    "$esp_mb" $(((esp_mb + 1) * 2048)) "$size_mb" | sfdisk -q "$img"
dd if=/usr/lib/syslinux/mbr/gptmbr.bin of="$img" bs=440 count=1 conv=notrunc status=none
esp="$img@@1M"
mformat -i "$esp" -F -T $((esp_mb * 2048 - 1)) -v STOCKESP ::
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$esp" /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::/EFI/BOOT/BOOTX64.EFI
printf 'timeout 0\ndefault debian.conf\n' > "$work/loader.conf"
printf 'title Debian GNU/Linux 12\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=UUID=%s ro console=ttyS0\n' "$uuid" \
    > "$work/debian.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/debian.conf" ::/loader/entries/debian.conf
mcopy -i "$esp" "$root/boot/$kernel" ::/vmlinuz
mcopy -i "$esp" "$root/boot/$initrd" ::/initrd.img
dd if="$fs" of="$img" bs=1M seek=$((esp_mb + 1)) conv=notrunc,sparse status=none
qemu-img convert -f raw -O qcow2 "$img" "$work/stock.qcow2"
mv "$img" "$out/stock.img"
mv "$work/stock.qcow2" "$out/stock.qcow2"
echo "stock guest: Debian 12, kernel ${kernel#vmlinuz-}, $(du -h "$out/stock.img" | cut -f1) raw, $(du -h "$out/stock.qcow2" | cut -f1) qcow2 in $out"
