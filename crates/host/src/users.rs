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
