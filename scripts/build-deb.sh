#!/usr/bin/env bash
# Builds ivm's Debian package from this source tree: target/debian/ivm_<version>_amd64.deb.
#   scripts/build-deb.sh            builds the release binary (the console embedded) first
#   IVM_BIN=path scripts/build-deb.sh   packages that binary instead (the tests' debug build)
# Layout: /usr/lib/ivm/ivm (the binary), /usr/bin/ivm (a link to it), the IVM commands as links
# in /usr/lib/ivm/bin (not /usr/bin: names such as lsdev, lsmap or mkvdev would clash with
# other packages' commands; ivm users reach them through ivm's restricted shell, root adds
# /usr/lib/ivm/bin to its PATH through /etc/profile.d/ivm.sh), /etc/ivm/ivm.toml and /etc/default/ivm (conffiles, every
# setting commented with its default), the sshd drop-in for ivm's users, ivm.service.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
bin=${IVM_BIN:-}
if [ -z "$bin" ]; then
    scripts/build-web.sh
    cargo build --release --locked -p ivm
    bin=$root/target/release/ivm
fi
out=$root/target/debian
stage=$out/ivm_${version}_amd64
rm -rf "$stage"
install -d -m 0755 "$stage/DEBIAN" "$stage/usr/lib/ivm/bin" "$stage/usr/bin" \
    "$stage/etc/ivm" "$stage/etc/default" "$stage/etc/ssh/sshd_config.d" "$stage/etc/profile.d" \
    "$stage/lib/systemd/system" "$stage/usr/share/doc/ivm"
install -m 0755 "$bin" "$stage/usr/lib/ivm/ivm"
strip --strip-debug "$stage/usr/lib/ivm/ivm" 2>/dev/null || true
ln -s ../lib/ivm/ivm "$stage/usr/bin/ivm"
# The links install-commands makes, relative so that they hold in any root.
for name in $("$bin" install-commands "$out/commands.$$" | sed -n 's/^installed [0-9]* commands in [^:]*: //p'); do
    ln -s ../ivm "$stage/usr/lib/ivm/bin/$name"
done
rm -rf "$out/commands.$$"
install -m 0644 packaging/debian/ivm.toml "$stage/etc/ivm/ivm.toml"
install -m 0644 packaging/debian/default "$stage/etc/default/ivm"
install -m 0644 packaging/debian/profile.sh "$stage/etc/profile.d/ivm.sh"
"$bin" sshd-config --data-dir /var/lib/ivm --exe /usr/lib/ivm/ivm > "$stage/etc/ssh/sshd_config.d/ivm.conf"
chmod 0644 "$stage/etc/ssh/sshd_config.d/ivm.conf"
install -m 0644 packaging/debian/ivm.service "$stage/lib/systemd/system/ivm.service"
install -m 0644 README.md ARCHITECTURE.md "$stage/usr/share/doc/ivm/"
for s in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"
done
printf '/etc/ivm/ivm.toml\n/etc/default/ivm\n/etc/ssh/sshd_config.d/ivm.conf\n/etc/profile.d/ivm.sh\n' > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: ivm
Version: $version
Architecture: amd64
Maintainer: ivm developers <ivm@localhost>
Installed-Size: $size
Section: admin
Priority: optional
Depends: libc6 (>= 2.36), qemu-system-x86 (>= 1:10), qemu-utils (>= 1:10), qemu-block-extra (>= 1:10), lvm2, openssh-server, util-linux, e2fsprogs, passwd, procps
Recommends: sudo, ceph-common, ovmf
Description: Integrated Virtualization Manager for Linux/KVM
 ivm manages the logical partitions (QEMU/KVM virtual machines) of one Linux host,
 with committed, never overcommitted processors, memory and storage: a browser
 console, a REST API and IBM IVM's command line (lssyscfg, mksyscfg, chhwres, ...)
 over SSH for existing IVM clients.
 .
 QEMU 10 comes from bookworm-backports on Debian 12.
CONTROL
dpkg-deb --root-owner-group -Z"${IVM_DEB_COMPRESSION:-xz}" --build "$stage" "$out/ivm_${version}_amd64.deb" >/dev/null
rm -rf "$stage"
echo "$out/ivm_${version}_amd64.deb"
