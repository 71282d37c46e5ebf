#!/usr/bin/env bash
# Builds ivm as of the previous release (the commit in packaging/previous-release) into
# target/previous-release/ivm, for the upgrade test (crates/ivm/tests/upgrade.rs): that binary
# makes partitions and runs one, then this tree's binary takes over its data directory.
# It builds in this tree's target directory, so only ivm's own crates are compiled again (the
# dependencies are the same), and runs before this tree's build. That release's console is not rebuilt: the upgrade concerns the
# store and the running partitions, so this tree's web/dist is embedded in it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rev=$(grep -v '^#' packaging/previous-release | head -n 1)
out=$root/target/previous-release
if [ -x "$out/ivm" ] && [ "$(cat "$out/commit" 2>/dev/null)" = "$rev" ]; then
    echo "$out/ivm"
    exit 0
fi
if ! git cat-file -e "$rev^{commit}" 2>/dev/null; then
    echo "build-previous-release: commit $rev is not in this clone (a shallow clone?): fetch the history" >&2
    exit 1
fi
[ -s web/dist/index.html ] || scripts/build-web.sh >&2
rm -rf "$out"
mkdir -p "$out/src"
git archive --format=tar "$rev" | tar -x -C "$out/src"
ln -s "$root/web/dist" "$out/src/web/dist"
# That build puts its binary at target/debug/ivm: this tree's is kept aside and put back, so
# that target/debug/ivm is never the old release (cargo relinks it at its next build anyway).
kept=
if [ -e "$root/target/debug/ivm" ]; then
    kept=$out/this-tree-ivm
    ln "$root/target/debug/ivm" "$kept"
fi
(cd "$out/src" && CARGO_TARGET_DIR=$root/target cargo build -q --locked -p ivm >&2)
cp "$root/target/debug/ivm" "$out/ivm"
if [ -n "$kept" ]; then
    mv -f "$kept" "$root/target/debug/ivm"
fi
rm -rf "$out/src"
echo "$rev" > "$out/commit"
echo "$out/ivm"
