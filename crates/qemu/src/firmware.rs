//! UEFI firmware for partitions: Debian's OVMF (package `ovmf`), its code shared read-only by
//! every partition, its variables (boot entries, settings) a file of each partition's own,
//! made from OVMF's template the first time it is needed.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// OVMF's code (4 MB flash layout), read-only, the same for every partition.
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/// OVMF's variables template for that layout.
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// The descriptor set of a partition's variables file on QEMU's command line.
pub const NVRAM_FDSET: u32 = 4000;

/// Why a partition's UEFI firmware cannot be given to it.
#[derive(Debug, thiserror::Error)]
pub enum FirmwareError {
    /// OVMF is not installed.
    #[error("{0} is missing: install Debian's ovmf package (scripts/install-deps.sh does) for boot_firmware=uefi")]
    NoOvmf(&'static str),
    /// The variables file could not be made or opened.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Asked for inside a store write transaction (a bug; nothing was done).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> FirmwareError + 'a {
    move |source| FirmwareError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Opens the partition's variables file at `path` for QEMU, read-write and read-only, making it
/// from OVMF's template first when it does not exist (written aside and renamed, so a half copy
/// is never taken for the partition's variables).
pub fn open_vars(path: &Path) -> Result<(File, File), FirmwareError> {
    ivm_txguard::host_action("firmware.open_vars")?;
    if !Path::new(OVMF_CODE).is_file() {
        return Err(FirmwareError::NoOvmf(OVMF_CODE));
    }
    if !path.exists() {
        if !Path::new(OVMF_VARS).is_file() {
            return Err(FirmwareError::NoOvmf(OVMF_VARS));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        let part = path.with_extension("part");
        std::fs::copy(OVMF_VARS, &part).map_err(io("copy OVMF's variables to", &part))?;
        File::open(&part)
            .and_then(|f| f.sync_all())
            .map_err(io("sync", &part))?;
        std::fs::rename(&part, path).map_err(io("rename", &part))?;
    }
    let rw = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(io("open", path))?;
    let ro = File::open(path).map_err(io("open", path))?;
    Ok((rw, ro))
}

/// Writes `bytes` (a backup's copy) as the partition's variables file.
pub fn restore_vars(path: &Path, bytes: &[u8]) -> Result<(), FirmwareError> {
    ivm_txguard::host_action("firmware.restore_vars")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    }
    let part = path.with_extension("part");
    std::fs::write(&part, bytes).map_err(io("write", &part))?;
    std::fs::rename(&part, path).map_err(io("rename", &part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variables_are_made_once_from_the_template_and_then_kept() {
        if !Path::new(OVMF_VARS).is_file() {
            panic!("{OVMF_VARS} is missing: scripts/install-deps.sh installs ovmf");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nvram/lpar-2.fd");
        drop(open_vars(&path).unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(OVMF_VARS).unwrap()
        );
        // A partition's own changes stay.
        std::fs::write(&path, b"changed").unwrap();
        drop(open_vars(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"changed");
        restore_vars(&path, b"from a backup").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"from a backup");
        assert!(!path.with_extension("part").exists());
    }
}
