//! Files users name (boot files now; media and disks later) are accepted only inside the
//! directories ivm manages, so a partition can never be made to read what its administrator
//! may not (QEMU opens boot files before it drops root).

use std::path::{Path, PathBuf};

use ivm_rules::RuleError;

use super::ServiceError;

/// Resolves `given` (a name inside `dir`, or an absolute path) to the canonical path of a
/// regular file inside `dir`, following no link out of it.
pub(super) fn confine(dir: &Path, attr: &str, given: &str) -> Result<String, ServiceError> {
    let dir = dir.canonicalize().map_err(|source| {
        ServiceError::Host(crate::runtime::HostError::Io {
            action: "open",
            path: dir.to_path_buf(),
            source,
        })
    })?;
    let candidate = if Path::new(given).is_absolute() {
        PathBuf::from(given)
    } else {
        dir.join(given)
    };
    let outside = || {
        ServiceError::from(RuleError::BootFileOutside {
            attr: attr.to_string(),
            given: given.to_string(),
            dir: dir.display().to_string(),
        })
    };
    // Resolving every link first means a link inside the directory that points out of it is
    // judged by where it points.
    let real = match candidate.canonicalize() {
        Ok(p) => p,
        Err(_) if !candidate.starts_with(&dir) => return Err(outside()),
        Err(_) => {
            return Err(RuleError::NoSuchFile {
                attr: attr.to_string(),
                given: given.to_string(),
                dir: dir.display().to_string(),
            }
            .into())
        }
    };
    if !real.starts_with(&dir) {
        return Err(outside());
    }
    if !real.is_file() {
        return Err(not_plain(attr, given, "a regular file"));
    }
    real.into_os_string()
        .into_string()
        .map_err(|_| not_plain(attr, given, "valid UTF-8"))
}

fn not_plain(attr: &str, given: &str, what: &'static str) -> ServiceError {
    RuleError::NotAPlainFile {
        attr: attr.to_string(),
        given: given.to_string(),
        what,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_inside_the_directory() {
        let t = tempfile::tempdir().unwrap();
        let boot = t.path().join("boot");
        std::fs::create_dir(&boot).unwrap();
        std::fs::write(boot.join("vmlinuz"), b"k").unwrap();
        std::fs::write(t.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(t.path().join("secret"), boot.join("link")).unwrap();
        std::os::unix::fs::symlink(boot.join("vmlinuz"), boot.join("inner")).unwrap();
        std::fs::create_dir(boot.join("sub")).unwrap();
        let real = boot.canonicalize().unwrap().join("vmlinuz");
        let real = real.to_str().unwrap();

        assert_eq!(confine(&boot, "boot_kernel", "vmlinuz").unwrap(), real);
        assert_eq!(confine(&boot, "boot_kernel", real).unwrap(), real);
        assert_eq!(confine(&boot, "boot_kernel", "inner").unwrap(), real);
        for bad in [
            "/etc/shadow",
            "link",
            "../secret",
            "sub/../../secret",
            t.path().join("secret").to_str().unwrap(),
        ] {
            let e = confine(&boot, "boot_kernel", bad).unwrap_err().to_string();
            assert!(e.contains("is not in"), "{bad}: {e}");
        }
        let e = confine(&boot, "boot_initrd", "missing")
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = confine(&boot, "boot_initrd", "sub")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
