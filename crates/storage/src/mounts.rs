//! Filesystems ivm makes on logical volumes and mounts under its data directory: the media
//! repository of a volume group pool, and a file pool inside a volume group pool.

use std::ffi::CString;
use std::path::Path;
use std::process::Command;

/// A filesystem step that failed.
#[derive(Debug, thiserror::Error)]
#[error("{action} {target}: {message}")]
pub struct MountError {
    /// What was being done.
    pub action: &'static str,
    /// On which device or directory.
    pub target: String,
    /// Why.
    pub message: String,
}

fn run(
    action: &'static str,
    target: &Path,
    program: &str,
    args: &[&str],
) -> Result<(), MountError> {
    let err = |message: String| MountError {
        action,
        target: target.display().to_string(),
        message,
    };
    ivm_txguard::host_action(action).map_err(|e| err(e.to_string()))?;
    let out = Command::new(program)
        .args(args)
        .arg(target)
        .output()
        .map_err(|e| err(format!("cannot run {program} ({e}); install e2fsprogs")))?;
    if !out.status.success() {
        return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(())
}

fn guard(action: &'static str, target: &Path) -> Result<(), MountError> {
    ivm_txguard::host_action(action).map_err(|e| MountError {
        action,
        target: target.display().to_string(),
        message: e.to_string(),
    })
}

fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_default()
}

/// Makes an ext4 filesystem on `device`.
pub fn make_ext4(device: &Path) -> Result<(), MountError> {
    run("format", device, "mkfs.ext4", &["-q", "-F", "-m", "0"])
}

/// Grows the ext4 filesystem on `device` to fill it (online when mounted).
pub fn grow_ext4(device: &Path) -> Result<(), MountError> {
    run("grow the filesystem of", device, "resize2fs", &[])
}

/// Whether something is mounted on `dir`.
pub fn is_mounted(dir: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    let want = dir.display().to_string();
    mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .any(|m| m.replace("\\040", " ") == want)
}

/// Mounts the ext4 filesystem of `device` on `dir` (made private to root), unless it already is.
pub fn mount_ext4(device: &Path, dir: &Path) -> Result<(), MountError> {
    guard("mount", dir)?;
    std::fs::create_dir_all(dir).map_err(|e| MountError {
        action: "create",
        target: dir.display().to_string(),
        message: e.to_string(),
    })?;
    if is_mounted(dir) {
        return Ok(());
    }
    let (src, dst, fstype) = (
        c_path(device),
        c_path(dir),
        CString::new("ext4").unwrap_or_default(),
    );
    // SAFETY: NUL-terminated strings that outlive the call; no data argument.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(MountError {
            action: "mount",
            target: format!("{} on {}", device.display(), dir.display()),
            message: std::io::Error::last_os_error().to_string(),
        });
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| MountError {
        action: "protect",
        target: dir.display().to_string(),
        message: e.to_string(),
    })
}

/// Unmounts `dir` (nothing mounted is fine) and removes the empty mount point.
pub fn unmount(dir: &Path) -> Result<(), MountError> {
    guard("unmount", dir)?;
    if is_mounted(dir) {
        let d = c_path(dir);
        // SAFETY: a NUL-terminated path that outlives the call.
        if unsafe { libc::umount2(d.as_ptr(), 0) } != 0 {
            return Err(MountError {
                action: "unmount",
                target: dir.display().to_string(),
                message: std::io::Error::last_os_error().to_string(),
            });
        }
    }
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ext4 on a loop device needs no device-mapper: this exercises the real tools and mount.
    #[test]
    fn an_ext4_filesystem_is_made_mounted_grown_and_unmounted() {
        let t = tempfile::tempdir().unwrap();
        let img = t.path().join("fs.img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(32 << 20)
            .unwrap();
        make_ext4(&img).unwrap();
        let dir = t.path().join("mnt");
        // A regular file is mounted through a loop device only by mount(8); the syscall wants a
        // block device, so attach one.
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&img)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let dev = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let result = std::panic::catch_unwind(|| {
            mount_ext4(&dev, &dir).unwrap();
            assert!(is_mounted(&dir));
            mount_ext4(&dev, &dir).unwrap();
            std::fs::write(dir.join("x"), b"kept").unwrap();
            grow_ext4(&dev).unwrap();
            unmount(&dir).unwrap();
            assert!(!is_mounted(&dir) && !dir.exists());
            unmount(&dir).unwrap();
        });
        let _ = unmount(&dir);
        let _ = Command::new("losetup").arg("-d").arg(&dev).status();
        result.unwrap();
    }
}
