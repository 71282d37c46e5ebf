#!/usr/bin/env bash
# Builds the small Linux test guest from Debian packages only: Debian's cloud kernel and a
# busybox-static initramfs. Leaves OUTDIR/vmlinuz and OUTDIR/initramfs.
#
# The guest's /init loads the virtio and ACPI button drivers, onlines hot-plugged CPUs and
# memory, powers off on the ACPI power button, brings up eth0 if present, prints
#   IVM-TEST-GUEST READY cpus=N mem_kb=M
# on the serial console and runs a shell there. `guest-status` prints
# `cpus=N mem_kb=M disks=sda:SECTORS,... cdroms=sr0:SECTORS,... boot=kernel|disk|cd nics=eth0:MAC,...`
# again. The QEMU guest agent (Debian's qemu-ga) runs on its virtio-serial port when
# `ivm.agent` is on the kernel command line. `ivm.stock` on the kernel command line: nothing onlines hot-added CPUs or memory, as
# in a stock distribution. `ivm.ip=eth0:10.0.0.2/24` on the kernel command line sets an adapter's address, and a
# guest with an address runs a TCP echo responder on port 7 (busybox nc).
#
# Also writes disk.img: the same guest on a bootable disk (FAT + SYSLINUX); disk-uefi.img: the
# same guest on a GPT disk whose EFI system partition holds systemd-boot (`ivm.boot=uefi`); guest.iso: the same
# guest on a bootable ISO (ISOLINUX, El Torito); tools.iso: Debian's fio with the libraries it
# loads (an ISO a partition mounts from a virtual optical device to run the disk benchmark).
#
# Needs: apt-get (with package lists), dpkg-deb, depmod (kmod), cpio, gzip, syslinux, mtools,
# dosfstools, isolinux, syslinux-common, xorriso, fio, sfdisk (fdisk), systemd-boot-efi (scripts/install-deps.sh installs them).
set -euo pipefail

out=${1:?usage: build-test-guest.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs" ] && [ -s "$out/disk.img" ] && [ -s "$out/guest.iso" ] \
    && [ -s "$out/disk-uefi.img" ] \
    && [ -s "$out/tools.iso" ] && [ "$out/initramfs" -nt "$0" ]; then
    echo "test guest already built in $out"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

resolve_kernel() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
kernel_pkg=$(resolve_kernel)
if [ -z "$kernel_pkg" ]; then
    apt-get update -q >/dev/null
    kernel_pkg=$(resolve_kernel)
fi
[ -n "$kernel_pkg" ] || { echo "cannot resolve linux-image-cloud-amd64 from the package lists" >&2; exit 1; }
# apt's sandbox user cannot write into a private temp dir; this directory is ours alone.
chmod 0755 "$work"
apt-get download -q "$kernel_pkg" busybox-static qemu-guest-agent 2>&1 | grep -v "unsandboxed" || true
mkdir pkg
for deb in ./*.deb; do dpkg-deb -x "$deb" pkg; done
version=$(ls pkg/lib/modules)

root=$work/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,var/log,var/run,etc/acpi/PWRF,lib/modules/"$version"}
cp pkg/bin/busybox "$root/bin/busybox"
# Debian's QEMU guest agent, with the libraries it loads (the host's: the same Debian release).
cp pkg/usr/sbin/qemu-ga "$root/usr/sbin/qemu-ga"
mkdir -p "$root/lib64" "$root/lib/x86_64-linux-gnu"
ldd pkg/usr/sbin/qemu-ga | awk '/=>/ {print $3}' | while read -r lib; do
    cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
# The agent's guest-shutdown runs /sbin/shutdown, which busybox does not have.
cat > "$root/sbin/shutdown" <<'SH'
#!/bin/sh
echo "IVM-TEST-GUEST agent shutdown: powering off" > /dev/console
case " $* " in *" -r "*) reboot -f ;; *) poweroff -f ;; esac
SH
chmod +x "$root/sbin/shutdown"
# Copy the drivers /init loads and everything they depend on, per the full tree's modules.dep.
depmod -b pkg "$version"
wanted="virtio_pci virtio_blk virtio_net virtio_scsi sd_mod sr_mod isofs virtio_mem virtio_balloon virtio_console evdev button"
for m in $wanted; do
    line=$(grep -E "(^|/)$m\.ko:" pkg/lib/modules/"$version"/modules.dep) || { echo "module $m not found" >&2; exit 1; }
    for f in ${line%%:*} ${line#*:}; do
        mkdir -p "$root/lib/modules/$version/$(dirname "$f")"
        cp "pkg/lib/modules/$version/$f" "$root/lib/modules/$version/$f"
    done
done
cp pkg/lib/modules/"$version"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$version/"
depmod -b "$root" "$version"

cat > "$root/etc/acpi/PWRF/00000080" <<'SH'
#!/bin/sh
echo "IVM-TEST-GUEST power button: powering off" > /dev/console
poweroff -f
SH
chmod +x "$root/etc/acpi/PWRF/00000080"

# Run by the uevent listener /init starts: a hot-plugged CPU is onlined as the kernel
# announces it, so the guest sees a DLPAR change at once. (Memory the kernel onlines itself,
# movable: auto_online_blocks.)
cat > "$root/bin/ivm-hotplug" <<'SH'
#!/bin/sh
[ "$ACTION" = add ] || exit 0
case "$DEVPATH" in
    /devices/system/cpu/cpu[0-9]*) ;;
    *) exit 0 ;;
esac
f=/sys$DEVPATH/online
[ -f "$f" ] && [ "$(cat "$f")" = 0 ] && echo 1 > "$f"
exit 0
SH
chmod +x "$root/bin/ivm-hotplug"

cat > "$root/bin/guest-status" <<'SH'
#!/bin/sh
cpus=$(grep -c '^processor' /proc/cpuinfo)
mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
# SCSI disks as name:size-in-512-byte-sectors, e.g. disks=sda:131072,sdb:2048
disks=$(for d in /sys/block/sd*; do [ -e "$d" ] && printf '%s:%s,' "${d##*/}" "$(cat "$d/size")"; done)
# Optical drives likewise, 0 when empty: a drive is read, so the kernel looks at its media
# again and a change made from outside shows.
cd_size() { if dd if="/dev/$1" of=/dev/null bs=2048 count=1 2>/dev/null; then blockdev --getsz "/dev/$1"; else echo 0; fi; }
cdroms=$(for d in /sys/block/sr*; do [ -e "$d" ] && printf '%s:%s,' "${d##*/}" "$(cd_size "${d##*/}")"; done)
boot=$(sed -n 's/.*ivm\.boot=\([a-z]*\).*/\1/p' /proc/cmdline)
# Network adapters as name:MAC.
nics=$(for n in /sys/class/net/eth*; do [ -e "$n" ] && printf '%s:%s,' "${n##*/}" "$(cat "$n/address")"; done)
echo "cpus=$cpus mem_kb=$mem_kb disks=${disks%,} cdroms=${cdroms%,} boot=${boot:-kernel} nics=${nics%,}"
SH
chmod +x "$root/bin/guest-status"

cat > "$root/init" <<'SH'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in virtio_pci virtio_blk virtio_net virtio_scsi sd_mod sr_mod isofs virtio_mem virtio_balloon virtio_console evdev button; do
    modprobe "$m" || echo "IVM-TEST-GUEST cannot load $m"
done
# ivm.stock on the kernel command line makes the guest behave as a stock distribution does:
# nothing onlines hot-added CPUs or memory (Debian's kernel leaves both offline).
stock=; grep -qw ivm.stock /proc/cmdline && stock=1
if [ -z "$stock" ]; then
    # Hot-added memory comes online movable, so it can be removed again.
    echo online_movable > /sys/devices/system/memory/auto_online_blocks 2>/dev/null
    uevent /bin/ivm-hotplug &
else
    echo offline > /sys/devices/system/memory/auto_online_blocks 2>/dev/null
fi
online_all() {
    [ -n "$stock" ] && return 0
    for f in /sys/devices/system/cpu/cpu*/online /sys/devices/system/memory/memory*/online; do
        [ -f "$f" ] && [ "$(cat "$f")" = 0 ] && echo 1 > "$f" 2>/dev/null
    done
}
online_all
# The guest agent on its virtio-serial port when ivm.agent is on the command line. Not by
# default: under TCG the agent's start-up code fills QEMU 10's translation buffer, after which
# a vCPU hot-plug aborts QEMU (tcg_region_initial_alloc), and most tests plug vCPUs.
if grep -qw ivm.agent /proc/cmdline; then
    n=0; port=
    while [ -z "$port" ] && [ $n -lt 50 ]; do
        for f in /sys/class/virtio-ports/vport*/name; do
            d=${f%/name}
            [ -f "$f" ] && [ "$(cat "$f")" = org.qemu.guest_agent.0 ] && port=/dev/${d##*/}
        done
        [ -n "$port" ] || { sleep 0.1; n=$((n + 1)); }
    done
    if [ -n "$port" ]; then
        /usr/sbin/qemu-ga -m virtio-serial -p "$port" -d -f /run/qemu-ga.pid
    else
        echo "IVM-TEST-GUEST no guest agent port"
    fi
fi
# acpid reads the input devices present when it starts: wait (up to 10 s) for the power
# button's event device before starting it, so a shutdown request after READY is never lost.
power_button_ready() {
    for e in /sys/devices/LNXSYSTM:00/LNXPWRBN:00/input/input*/event*; do [ -e "$e" ] && return 0; done
    return 1
}
n=0
while ! power_button_ready && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
acpid
# Hot-plugged CPUs arrive offline: ivm-hotplug onlines them as they come; this loop is the
# safety net for an event missed (and keeps acpid running).
( while :; do
    online_all
    pidof acpid >/dev/null || { power_button_ready && acpid; }
    sleep 1
  done ) &
[ -e /sys/class/net/eth0 ] && ip link set eth0 up
# ivm.ip=eth0:10.0.0.2/24 on the kernel command line gives an adapter its address.
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        ivm.ip=*)
            v=${arg#ivm.ip=}; dev=${v%%:*}; addr=${v#*:}
            n=0; while [ ! -e "/sys/class/net/$dev" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
            ip link set "$dev" up && ip addr add "$addr" dev "$dev" || echo "IVM-TEST-GUEST cannot set $addr on $dev"
            echo=1
            ;;
    esac
done
# A guest with an address answers on TCP port 7 (echo), so tests reach a service in it.
[ -n "${echo:-}" ] && nc -ll -p 7 -e /bin/cat >/dev/null 2>&1 &
hostname ivm-guest
echo "IVM-TEST-GUEST READY $(guest-status)"
while :; do
    setsid cttyhack sh -l
done
SH
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$work/initramfs.gz"
cp "pkg/boot/vmlinuz-$version" "$out/vmlinuz.new"
cp "$work/initramfs.gz" "$out/initramfs.new"

# A bootable disk image of the same guest: a FAT file system on the whole disk (no partition
# table, which SeaBIOS boots like a superfloppy) with SYSLINUX in its boot sector, so a
# partition can boot from a virtual disk without boot_kernel. Built without mounting anything
# (mtools), as an unprivileged build could.
img="$work/disk.img"
truncate -s 32M "$img"
mkfs.vfat -n IVMGUEST "$img" >/dev/null
syslinux --install "$img"
cat > "$work/syslinux.cfg" <<'CFG'
DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  KERNEL vmlinuz
  INITRD initramfs
  APPEND console=ttyS0 quiet ivm.boot=disk
CFG
mcopy -i "$img" "pkg/boot/vmlinuz-$version" ::vmlinuz
mcopy -i "$img" "$work/initramfs.gz" ::initramfs
mcopy -i "$img" "$work/syslinux.cfg" ::syslinux.cfg
cp "$img" "$out/disk.img.new"

# The same guest for UEFI: a GPT disk with one EFI system partition (FAT32 from 1 MiB) holding
# systemd-boot as the removable-media loader (EFI/BOOT/BOOTX64.EFI), which boots the kernel by
# its EFI stub. Built with mtools at the partition's offset, nothing mounted.
uefi="$work/disk-uefi.img"
truncate -s 40M "$uefi"
printf 'label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"\n' \
    | sfdisk -q "$uefi"
esp="$uefi@@1M"
mformat -i "$esp" -F -v IVMESP ::
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$esp" /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::/EFI/BOOT/BOOTX64.EFI
printf 'timeout 0\ndefault ivm.conf\n' > "$work/loader.conf"
printf 'title ivm test guest\nlinux /vmlinuz\ninitrd /initramfs\noptions console=ttyS0 quiet ivm.boot=uefi\n' \
    > "$work/ivm.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/ivm.conf" ::/loader/entries/ivm.conf
mcopy -i "$esp" "pkg/boot/vmlinuz-$version" ::/vmlinuz
mcopy -i "$esp" "$work/initramfs.gz" ::/initramfs
cp "$uefi" "$out/disk-uefi.img.new"

# The same guest on a bootable ISO: ISOLINUX in El Torito no-emulation mode.
iso=$work/iso
mkdir -p "$iso/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
# ISOLINUX resolves names from its own directory: the kernel and initramfs by absolute path.
sed -e 's/ivm.boot=disk/ivm.boot=cd/' -e 's|KERNEL vmlinuz|KERNEL /vmlinuz|' -e 's|INITRD initramfs|INITRD /initramfs|' \
    "$work/syslinux.cfg" > "$iso/isolinux/isolinux.cfg"
cp "pkg/boot/vmlinuz-$version" "$iso/vmlinuz"
cp "$work/initramfs.gz" "$iso/initramfs"
xorriso -as mkisofs -quiet -o "$out/guest.iso.new" -V IVMGUEST -J -R \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$iso"

# fio for the guest, with every library it loads, from the host's Debian package: run in the
# guest as `/mnt/lib/ld.so --library-path /mnt/lib /mnt/fio`.
tools=$work/tools
mkdir -p "$tools/lib"
cp "$(command -v fio)" "$tools/fio"
ldd "$(command -v fio)" | awk '/=>/ {print $3} !/=>/ && /^\s*\// {print $1}' | while read -r lib; do
    [ -f "$lib" ] && cp -L "$lib" "$tools/lib/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$tools/lib/ld.so"
xorriso -as mkisofs -quiet -o "$out/tools.iso.new" -V IVMTOOLS -R "$tools"

mv "$out/vmlinuz.new" "$out/vmlinuz"
mv "$out/guest.iso.new" "$out/guest.iso"
mv "$out/tools.iso.new" "$out/tools.iso"
mv "$out/initramfs.new" "$out/initramfs"
mv "$out/disk.img.new" "$out/disk.img"
mv "$out/disk-uefi.img.new" "$out/disk-uefi.img"
echo "test guest: kernel $version, $(du -h "$out/vmlinuz" | cut -f1) kernel, $(du -h "$out/initramfs" | cut -f1) initramfs, bootable disk.img, disk-uefi.img and guest.iso, tools.iso in $out"
