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

/// The user and primary group IDs of Unix user `name`, from the passwd file below `root`.
pub fn ids_of(root: &Path, name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
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
    ivm_txguard::host_action("users.ensure_system_user").map_err(|e| e.to_string())?;
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

/// The first of the host's own IDs (users, groups, subordinate ID ranges for user
/// namespaces) that falls in `ids`, below `root`: a range handed to partitions' QEMUs must
/// belong to nobody else.
pub fn id_in_use(root: &Path, ids: std::ops::RangeInclusive<u32>) -> Option<String> {
    for file in ["etc/passwd", "etc/group"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        for l in text.lines() {
            let mut f = l.split(':');
            let name = f.next().unwrap_or("");
            if let Some(id) = f.nth(1).and_then(|v| v.parse::<u32>().ok()) {
                if ids.contains(&id) {
                    return Some(format!("{name} ({id}) in /{file}"));
                }
            }
        }
    }
    for file in ["etc/subuid", "etc/subgid"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        for l in text.lines() {
            let f: Vec<&str> = l.split(':').collect();
            let (Some(start), Some(count)) = (
                f.get(1).and_then(|v| v.parse::<u64>().ok()),
                f.get(2).and_then(|v| v.parse::<u64>().ok()),
            ) else {
                continue;
            };
            let (lo, hi) = (u64::from(*ids.start()), u64::from(*ids.end()));
            if start <= hi && start + count > lo {
                return Some(format!("{}'s range {start}+{count} in /{file}", f[0]));
            }
        }
    }
    None
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
        std::fs::write(t.path().join("etc/subuid"), "padmin:100000:65536\n").unwrap();
        assert!(id_in_use(t.path(), 1000..=1001).unwrap().contains("padmin"));
        assert!(id_in_use(t.path(), 165535..=165600)
            .unwrap()
            .contains("subuid"));
        assert_eq!(id_in_use(t.path(), 165536..=170000), None);
    }
}
