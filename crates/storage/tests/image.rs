//! Imports through the real `qemu-img`, run in its sandbox (needs root to change users).

use std::fs::OpenOptions;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use ivm_storage::image::{convert, Image, ImageFormat, Sandbox};

/// An ID no account has, as the daemon picks for its converter.
const NOBODY_ELSE: Sandbox = Sandbox {
    uid: 0x7ff0_0000,
    gid: 0x7ff0_0000,
};

fn qemu_img(args: &[&str]) {
    let out = Command::new("qemu-img").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A raw file of `mb` MB with a recognisable pattern in its first and last MB, the rest holes.
fn patterned(path: &Path, mb: u64) -> Vec<u8> {
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.set_len(mb << 20).unwrap();
    let pattern: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    use std::os::unix::fs::FileExt;
    f.write_all_at(&pattern, 0).unwrap();
    f.write_all_at(&pattern, (mb - 1) << 20).unwrap();
    pattern
}

fn disk(path: &Path, mb: u64) -> std::fs::File {
    let f = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    f.set_len(mb << 20).unwrap();
    f
}

#[test]
fn a_qcow2_image_becomes_the_same_bytes_in_a_raw_disk_and_the_disk_stays_roots() {
    let dir = tempfile::tempdir().unwrap();
    // The directory is private, as pools are: the converter reaches files only by descriptor.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let raw = dir.path().join("src.raw");
    let pattern = patterned(&raw, 8);
    let q = dir.path().join("src.qcow2");
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "qcow2",
        raw.to_str().unwrap(),
        q.to_str().unwrap(),
    ]);
    std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).unwrap();
    let image = Image::open(&q).unwrap();
    assert_eq!(image.info.format, ImageFormat::Qcow2);
    assert_eq!(image.info.virtual_bytes, 8 << 20);
    let target = dir.path().join("vd");
    let d = disk(&target, 10);
    let mut seen = Vec::new();
    convert(&image, &d, &target, NOBODY_ELSE, &mut |p| seen.push(p)).unwrap();
    let got = std::fs::read(&target).unwrap();
    assert_eq!(got.len(), 10 << 20, "the disk keeps its size");
    assert_eq!(&got[..1 << 20], &pattern[..]);
    assert_eq!(&got[7 << 20..8 << 20], &pattern[..]);
    assert!(got[1 << 20..7 << 20].iter().all(|b| *b == 0));
    assert!(got[8 << 20..].iter().all(|b| *b == 0));
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (0, 0, 0o600));
    assert_eq!(seen.last(), Some(&100), "progress reported: {seen:?}");
}

#[test]
fn images_the_converter_may_not_read_or_that_reach_outside_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("private.raw");
    patterned(&raw, 1);
    std::fs::set_permissions(&raw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = Image::open(&raw).err().unwrap().to_string();
    assert!(
        e.contains("not readable by others (mode 0600)") && e.contains("chmod o+r"),
        "{e}"
    );
    // A qcow2 image whose backing file is the host's shadow file.
    let q = dir.path().join("leak.qcow2");
    qemu_img(&[
        "create",
        "-f",
        "qcow2",
        "-F",
        "raw",
        "-b",
        "/etc/shadow",
        "-u",
        q.to_str().unwrap(),
        "1M",
    ]);
    std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Image::open(&q).err().unwrap().to_string();
    assert!(e.contains("names a backing file"), "{e}");
    // An external data file.
    let q = dir.path().join("data.qcow2");
    let data = dir.path().join("data.raw");
    qemu_img(&[
        "create",
        "-f",
        "qcow2",
        "-o",
        &format!("data_file={}", data.display()),
        q.to_str().unwrap(),
        "1M",
    ]);
    std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Image::open(&q).err().unwrap().to_string();
    assert!(e.contains("external data file"), "{e}");
}

#[test]
fn a_failed_conversion_says_why_and_gives_the_disk_back_to_root() {
    // A disk smaller than the image: qemu-img's own message, and the disk is root's again.
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("small.raw");
    patterned(&raw, 4);
    std::fs::set_permissions(&raw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let image = Image::open(&raw).unwrap();
    let target = dir.path().join("too-small");
    let d = disk(&target, 2);
    let e = convert(&image, &d, &target, NOBODY_ELSE, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("qemu-img convert of"), "{e}");
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
}
