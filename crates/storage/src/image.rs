//! Disk images a user imports into a virtual disk (`mkbdsp -file`): raw or qcow2, read by
//! `qemu-img convert` in a sandbox. An image is untrusted input: a qcow2 header can name a
//! backing file or an external data file anywhere on the host (or on the network), so the
//! header is read here first and such images are refused, the format is always given to
//! `qemu-img` (never probed), and `qemu-img` runs as an unprivileged user with `no_new_privs`,
//! inside Landlock (read the image, write the disk, nothing else; no TCP, no signals out),
//! reaching both files only through descriptors ivm opened.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, ABI,
};

/// An image's format, as ivm imports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// Bytes as the guest sees them.
    Raw,
    /// QEMU's copy-on-write format (version 2 or 3), self-contained.
    Qcow2,
}

impl ImageFormat {
    /// The name `qemu-img` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Raw => "raw",
            ImageFormat::Qcow2 => "qcow2",
        }
    }
}

/// What the header says about an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// The format the header names.
    pub format: ImageFormat,
    /// Bytes the guest sees (a raw image's length, a qcow2 image's virtual size).
    pub virtual_bytes: u64,
}

/// Why an image cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Another format that would be copied byte for byte and not boot.
    #[error("{path} is a {format} image; ivm imports raw and qcow2 images: convert it first (qemu-img convert -O qcow2 {path} NEW.qcow2)")]
    Unsupported {
        /// The image.
        path: PathBuf,
        /// What its magic says it is.
        format: &'static str,
    },
    /// A qcow2 image that is not self-contained or is damaged.
    #[error("{path}: {why}; ivm imports only self-contained qcow2 images: {fix}")]
    Refused {
        /// The image.
        path: PathBuf,
        /// What the header says.
        why: String,
        /// What to do.
        fix: &'static str,
    },
    /// The image is not readable by the unprivileged user `qemu-img` runs as.
    #[error("{path} is not readable by others (mode {mode:04o}); qemu-img never runs as root and reads it as an unprivileged user: chmod o+r {path}")]
    NotReadable {
        /// The image.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `qemu-img` failed; its own message follows.
    #[error("qemu-img convert of {path} failed: {message}")]
    Convert {
        /// The image.
        path: PathBuf,
        /// What qemu-img printed.
        message: String,
    },
    /// A filesystem or process call failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Asked for inside a store write transaction (a bug; nothing was done).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
}

const QCOW2_MAGIC: &[u8; 4] = b"QFI\xfb";
/// The qcow2 header extension that names an external data file.
const EXT_DATA_FILE: u32 = 0x4441_5441;
/// The qcow2 header extension of an encrypted image (LUKS).
const EXT_CRYPTO: u32 = 0x0537_be77;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Formats that would otherwise pass for raw, by their magic at offset 0.
const OTHER_FORMATS: &[(&[u8], &str)] = &[
    (b"KDMV", "vmdk"),
    (b"# Disk DescriptorFile", "vmdk"),
    (b"<<< ", "vdi"),
    (b"vhdxfile", "vhdx"),
    (b"conectix", "vhd"),
    (b"QED\0", "qed"),
    (b"LUKS\xba\xbe", "luks"),
    (b"QEVM", "qemu saved state"),
];

/// Reads what an image is from its first `head` bytes (4 KiB or the whole file if shorter) and
/// its length. Pure: the caller reads the bytes.
pub fn parse(path: &Path, head: &[u8], len: u64) -> Result<ImageInfo, ImageError> {
    if head.len() < 4 || &head[..4] != QCOW2_MAGIC {
        if let Some((_, format)) = OTHER_FORMATS.iter().find(|(m, _)| head.starts_with(m)) {
            return Err(ImageError::Unsupported {
                path: path.into(),
                format,
            });
        }
        return Ok(ImageInfo {
            format: ImageFormat::Raw,
            virtual_bytes: len,
        });
    }
    let refuse = |why: String, fix: &'static str| ImageError::Refused {
        path: path.into(),
        why,
        fix,
    };
    if head.len() < 72 {
        return Err(refuse(
            "the qcow2 header is cut short".into(),
            "the file is damaged; copy it again",
        ));
    }
    let version = be32(head, 4);
    if !(2..=3).contains(&version) {
        return Err(refuse(
            format!("qcow2 version {version}"),
            "only versions 2 and 3 exist; the file is damaged",
        ));
    }
    if be64(head, 8) != 0 {
        return Err(refuse(
            "it names a backing file".into(),
            "flatten it first (qemu-img convert -O qcow2 IMAGE FLAT.qcow2)",
        ));
    }
    if be32(head, 32) != 0 {
        return Err(refuse(
            "it is encrypted".into(),
            "decrypt it first (qemu-img convert --object secret,... -O qcow2)",
        ));
    }
    let mut ext_at = 72usize;
    if version == 3 {
        if head.len() < 104 {
            return Err(refuse(
                "the qcow2 header is cut short".into(),
                "the file is damaged; copy it again",
            ));
        }
        let incompatible = be64(head, 72);
        if incompatible & 0b10 != 0 {
            return Err(refuse(
                "it is marked corrupt".into(),
                "repair it first (qemu-img check -r all IMAGE)",
            ));
        }
        if incompatible & 0b100 != 0 {
            return Err(refuse(
                "it keeps its data in an external data file".into(),
                "convert it to a self-contained image first (qemu-img convert -O qcow2 IMAGE FLAT.qcow2)",
            ));
        }
        if incompatible & !0b11111 != 0 {
            return Err(refuse(
                format!("it needs qcow2 features this QEMU does not know ({incompatible:#x})"),
                "convert it with the QEMU that made it",
            ));
        }
        ext_at = be32(head, 100) as usize;
    }
    // Header extensions, 8-byte aligned, up to the end marker (type 0) or the bytes read.
    while ext_at + 8 <= head.len() {
        let (kind, len) = (be32(head, ext_at), be32(head, ext_at + 4) as usize);
        match kind {
            0 => break,
            EXT_DATA_FILE => {
                return Err(refuse(
                    "it names an external data file".into(),
                    "convert it to a self-contained image first (qemu-img convert -O qcow2 IMAGE FLAT.qcow2)",
                ))
            }
            EXT_CRYPTO => {
                return Err(refuse(
                    "it is encrypted".into(),
                    "decrypt it first (qemu-img convert --object secret,... -O qcow2)",
                ))
            }
            _ => {}
        }
        ext_at = ext_at.saturating_add(8 + len.div_ceil(8) * 8);
    }
    Ok(ImageInfo {
        format: ImageFormat::Qcow2,
        virtual_bytes: be64(head, 24),
    })
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ImageError + 'a {
    move |source| ImageError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// An opened image: what it is and the descriptor `qemu-img` will read it through.
pub struct Image {
    /// Where it is.
    pub path: PathBuf,
    /// What its header says.
    pub info: ImageInfo,
    file: File,
}

impl Image {
    /// Opens the image at `path` (a path the service already confined to a directory ivm
    /// manages), reads its header and checks that the unprivileged converter may read it.
    pub fn open(path: &Path) -> Result<Image, ImageError> {
        ivm_txguard::host_action("image.open")?;
        let file = File::open(path).map_err(io("open", path))?;
        let meta = file.metadata().map_err(io("inspect", path))?;
        if !meta.is_file() {
            return Err(io("import", path)(std::io::Error::other(
                "not a regular file",
            )));
        }
        if meta.mode() & 0o004 == 0 {
            return Err(ImageError::NotReadable {
                path: path.into(),
                mode: meta.mode() & 0o7777,
            });
        }
        let mut head = Vec::with_capacity(4096);
        (&file)
            .take(4096)
            .read_to_end(&mut head)
            .map_err(io("read", path))?;
        let info = parse(path, &head, meta.len())?;
        Ok(Image {
            path: path.into(),
            info,
            file,
        })
    }
}

/// The unprivileged identity `qemu-img` runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sandbox {
    /// User ID.
    pub uid: u32,
    /// Group ID.
    pub gid: u32,
}

/// What the converter's process may read and execute besides the image: the system's
/// programs and libraries, and the loader's cache.
const SYSTEM_READS: &[&str] = &["/usr", "/lib", "/lib64", "/bin", "/etc", "/dev/null"];

/// The Landlock ruleset for the converter: read (and execute) the system, read the image,
/// write the disk; no TCP, no abstract sockets or signals outside. `None` where the kernel has
/// no Landlock (the unprivileged user and the descriptors still hold).
fn ruleset(image: &File, disk: &File) -> Option<OwnedFd> {
    let abi = ABI::V6;
    let all = AccessFs::from_all(abi);
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let exec = BitFlags::from(AccessFs::Execute);
    let mut rules: Vec<PathBeneath<PathFd>> = SYSTEM_READS
        .iter()
        .filter_map(|p| PathFd::new(p).ok())
        .map(|fd| PathBeneath::new(fd, read | exec))
        .collect();
    let file_read = BitFlags::from(AccessFs::ReadFile);
    let file_write = AccessFs::ReadFile | AccessFs::WriteFile;
    let created = Ruleset::default()
        .handle_access(all)
        .ok()?
        .handle_access(AccessNet::from_all(abi))
        .ok()?
        .scope(Scope::from_all(abi))
        .ok()?
        .create()
        .ok()?
        .add_rules(rules.drain(..).map(Ok::<_, landlock::RulesetError>))
        .ok()?
        .add_rule(PathBeneath::new(image.as_fd(), file_read))
        .ok()?
        .add_rule(PathBeneath::new(disk.as_fd(), file_write))
        .ok()?;
    created.into()
}

/// The descriptor numbers the converter finds the image and the disk at.
const IMAGE_FD: RawFd = 3;
const DISK_FD: RawFd = 4;

/// Converts `image` into the raw disk `disk` (opened read-write by the caller, at least as
/// large as the image), calling `progress(percent)` as `qemu-img` reports it. The disk is lent
/// to the sandbox's user for the conversion and given back to root after, whatever happened.
pub fn convert(
    image: &Image,
    disk: &File,
    disk_path: &Path,
    sandbox: Sandbox,
    progress: &mut dyn FnMut(u8),
) -> Result<(), ImageError> {
    ivm_txguard::host_action("image.convert")?;
    let owner = disk.metadata().map_err(io("inspect", disk_path))?;
    let lend = |uid: u32, gid: u32| {
        // SAFETY: fchown on a descriptor we own.
        if unsafe { libc::fchown(disk.as_raw_fd(), uid, gid) } != 0 {
            return Err(io("lend", disk_path)(std::io::Error::last_os_error()));
        }
        Ok(())
    };
    lend(sandbox.uid, sandbox.gid)?;
    let ran = run_converter(image, disk, sandbox, progress);
    let back = lend(owner.uid(), owner.gid());
    ran.and(back)
}

fn run_converter(
    image: &Image,
    disk: &File,
    sandbox: Sandbox,
    progress: &mut dyn FnMut(u8),
) -> Result<(), ImageError> {
    // The format is given and the backing chain cut off in the options, so nothing in the
    // image chooses a driver or opens another file.
    let source = format!(
        r#"json:{{"driver":"{}","backing":null,"file":{{"driver":"file","filename":"/proc/self/fd/{IMAGE_FD}","locking":"off"}}}}"#,
        image.info.format.name()
    );
    let source = if image.info.format == ImageFormat::Raw {
        // The raw driver has no backing option.
        source.replace(r#""backing":null,"#, "")
    } else {
        source
    };
    let landlock = ruleset(&image.file, disk);
    let fds = [
        (image.file.as_raw_fd(), IMAGE_FD),
        (disk.as_raw_fd(), DISK_FD),
    ];
    let ruleset_fd = landlock.as_ref().map(|f| f.as_raw_fd());
    let mut cmd = Command::new("qemu-img");
    cmd.args([
        "convert",
        "-p",
        "-n",
        "--target-image-opts",
        &source,
        &format!(
            "driver=raw,file.driver=file,file.filename=/proc/self/fd/{DISK_FD},file.locking=off"
        ),
    ])
    .env_clear()
    .env("PATH", "/usr/bin:/bin")
    .env("LC_ALL", "C")
    .current_dir("/")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let (uid, gid) = (sandbox.uid, sandbox.gid);
    // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl, setgroups,
    // setresgid, setresuid, prctl, syscall) are made, on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            // Each source is first copied above the targets, so a source that already has a
            // target's number is never overwritten before it is moved.
            let mut high = [0; 2];
            for (i, (src, _)) in fds.iter().enumerate() {
                high[i] = libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, 64);
                if high[i] < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (i, (_, dst)) in fds.iter().enumerate() {
                if libc::dup2(high[i], *dst) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(gid, gid, gid) != 0
                || libc::setresuid(uid, uid, uid) != 0
                || libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(fd) = ruleset_fd {
                if libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let path = &image.path;
    let mut child = cmd.spawn().map_err(io("run qemu-img for", path))?;
    // The image's descriptor is in the child; the parent's copy of the ruleset is no longer
    // needed.
    drop(landlock);
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut out = child.stdout.take().expect("piped");
    let mut buf = [0u8; 512];
    let mut line = Vec::new();
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\r' || b == b'\n' {
                if let Some(p) = progress_of(&String::from_utf8_lossy(&line)) {
                    progress(p);
                }
                line.clear();
            } else {
                line.push(b);
            }
        }
    }
    let status = child.wait().map_err(io("wait for qemu-img on", path))?;
    let message = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(ImageError::Convert {
            path: path.clone(),
            message: message.trim().to_string(),
        });
    }
    Ok(())
}

/// The percent in one of `qemu-img -p`'s progress lines (`    (42.17/100%)`).
fn progress_of(line: &str) -> Option<u8> {
    let inner = line.trim().strip_prefix('(')?.split('/').next()?;
    inner
        .trim()
        .parse::<f64>()
        .ok()
        .map(|p| p.clamp(0.0, 100.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qcow2_v3(incompatible: u64, backing: u64, size: u64) -> Vec<u8> {
        let mut h = vec![0u8; 112];
        h[..4].copy_from_slice(QCOW2_MAGIC);
        h[4..8].copy_from_slice(&3u32.to_be_bytes());
        h[8..16].copy_from_slice(&backing.to_be_bytes());
        h[20..24].copy_from_slice(&16u32.to_be_bytes());
        h[24..32].copy_from_slice(&size.to_be_bytes());
        h[72..80].copy_from_slice(&incompatible.to_be_bytes());
        h[100..104].copy_from_slice(&104u32.to_be_bytes());
        h
    }

    #[test]
    fn raw_is_its_length_and_other_formats_are_named() {
        let p = Path::new("/b/x.img");
        let i = parse(p, &[0u8; 512], 10 << 20).unwrap();
        assert_eq!(
            i,
            ImageInfo {
                format: ImageFormat::Raw,
                virtual_bytes: 10 << 20
            }
        );
        let e = parse(p, b"KDMV\x01\0\0\0", 4096).unwrap_err().to_string();
        assert!(
            e.contains("is a vmdk image") && e.contains("qemu-img convert"),
            "{e}"
        );
        let e = parse(p, b"vhdxfile....", 4096).unwrap_err().to_string();
        assert!(e.contains("vhdx"), "{e}");
    }

    #[test]
    fn self_contained_qcow2_gives_its_virtual_size() {
        let i = parse(Path::new("i"), &qcow2_v3(0b11001, 0, 2 << 30), 300 << 20).unwrap();
        assert_eq!(
            i,
            ImageInfo {
                format: ImageFormat::Qcow2,
                virtual_bytes: 2 << 30
            }
        );
    }

    #[test]
    fn backing_files_data_files_encryption_and_corruption_are_refused() {
        let p = Path::new("/b/i.qcow2");
        let e = parse(p, &qcow2_v3(0, 200, 1 << 30), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("names a backing file"), "{e}");
        let e = parse(p, &qcow2_v3(0b100, 0, 1 << 30), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("external data file"), "{e}");
        let e = parse(p, &qcow2_v3(0b10, 0, 1 << 30), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("corrupt"), "{e}");
        let e = parse(p, &qcow2_v3(1 << 9, 0, 1 << 30), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not know"), "{e}");
        let mut h = qcow2_v3(0, 0, 1 << 30);
        h[32..36].copy_from_slice(&1u32.to_be_bytes());
        assert!(parse(p, &h, 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("encrypted"));
        // The data-file extension alone (without the feature bit) is refused too.
        let mut h = qcow2_v3(0, 0, 1 << 30);
        h.extend_from_slice(&EXT_DATA_FILE.to_be_bytes());
        h.extend_from_slice(&4u32.to_be_bytes());
        h.extend_from_slice(b"/etc\0\0\0\0");
        h[100..104].copy_from_slice(&112u32.to_be_bytes());
        assert!(parse(p, &h, 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("external data file"));
        assert!(parse(p, &h[..50], 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("cut short"));
    }

    #[test]
    fn the_converter_gets_a_landlock_domain_where_the_kernel_has_landlock() {
        let (a, b) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
        // SAFETY: the version query (flag 1) reads no memory.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0,
                1,
            )
        };
        let has = abi > 0;
        assert_eq!(ruleset(&a, &b).is_some(), has);
    }

    #[test]
    fn progress_lines_are_read() {
        assert_eq!(progress_of("    (42.17/100%)"), Some(42));
        assert_eq!(progress_of("    (100.00/100%)"), Some(100));
        assert_eq!(progress_of("garbage"), None);
    }
}
