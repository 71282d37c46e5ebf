//! Local Unix accounts.

use std::path::Path;

/// The name of Unix user `uid`, from the passwd file below `root`.
pub fn unix_user_name(root: &Path, uid: u32) -> Option<String> {
    let text = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

/// Whether Unix user `name` exists in the passwd file below `root`.
pub fn unix_user_exists(root: &Path, name: &str) -> bool {
    std::fs::read_to_string(root.join("etc/passwd"))
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(':').next() == Some(name))
}

/// Makes sure the system account `name` exists (no home, no login shell), creating it with
/// `useradd` when missing: the account unprivileged processes such as QEMU run as.
pub fn ensure_system_user(name: &str) -> Result<(), String> {
    if unix_user_exists(Path::new("/"), name) {
        return Ok(());
    }
    let out = std::process::Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "ivm partitions (QEMU)",
            name,
        ])
        .output()
        .map_err(|e| format!("cannot run useradd: {e}"))?;
    // Two daemons starting at once may race to create it: existing is what matters.
    if out.status.success() || unix_user_exists(Path::new("/"), name) {
        Ok(())
    } else {
        Err(format!(
            "useradd {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_by_uid() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\npadmin:x:1001:1001::/home/padmin:/bin/sh\n",
        )
        .unwrap();
        assert_eq!(unix_user_name(t.path(), 1001).as_deref(), Some("padmin"));
        assert_eq!(unix_user_name(t.path(), 0).as_deref(), Some("root"));
        assert_eq!(unix_user_name(t.path(), 5), None);
    }
}
