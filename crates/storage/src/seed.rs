//! cloud-init NoCloud seed media: an ISO 9660 image labelled `cidata` holding `meta-data`,
//! `user-data` and `network-config`, made with xorriso (its mkisofs mode, Joliet and Rock
//! Ridge names) from files ivm writes itself.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a seed medium could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A file could not be written or moved.
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
    /// xorriso failed or is missing; its message follows.
    #[error("cannot make the cloud-init seed medium with xorriso (install Debian's xorriso): {0}")]
    Xorriso(String),
    /// Asked for inside a store write transaction (a bug; nothing was done).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
}

/// Writes the seed medium `out` from `files` (name, contents), through a scratch directory
/// beside it that is removed after.
pub fn make(out: &Path, files: &[(&str, &str)]) -> Result<(), SeedError> {
    ivm_txguard::host_action("seed.make")?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| SeedError::Io {
            action,
            path,
            source,
        }
    };
    let scratch = out.with_extension("d");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(io("create", &scratch))?;
    let made = (|| {
        for (name, text) in files {
            let p = scratch.join(name);
            std::fs::write(&p, text).map_err(io("write", &p))?;
        }
        let part = out.with_extension("part");
        let o = Command::new("xorriso")
            .args(["-as", "mkisofs", "-quiet", "-V", "cidata", "-J", "-R", "-o"])
            .arg(&part)
            .arg(&scratch)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .map_err(|e| SeedError::Xorriso(e.to_string()))?;
        if !o.status.success() {
            return Err(SeedError::Xorriso(
                String::from_utf8_lossy(&o.stderr).trim().to_string(),
            ));
        }
        std::fs::rename(&part, out).map_err(io("rename", &part))
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_medium_is_labelled_cidata_and_holds_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let iso = dir.path().join("cidata.iso");
        make(
            &iso,
            &[
                ("meta-data", "instance-id: i-1\n"),
                ("user-data", "#cloud-config\n"),
            ],
        )
        .unwrap();
        let bytes = std::fs::read(&iso).unwrap();
        // The primary volume descriptor at sector 16: its volume identifier at offset 40.
        let pvd = &bytes[16 * 2048..17 * 2048];
        assert_eq!(&pvd[1..6], b"CD001");
        assert!(pvd[40..72].starts_with(b"cidata"), "{:?}", &pvd[40..72]);
        let listing = Command::new("xorriso")
            .args(["-indev"])
            .arg(&iso)
            .args(["-ls", "/"])
            .output()
            .unwrap();
        let names = String::from_utf8_lossy(&listing.stdout);
        assert!(
            names.contains("'meta-data'") && names.contains("'user-data'"),
            "{names}"
        );
        assert!(!dir.path().join("cidata.d").exists());
    }
}
