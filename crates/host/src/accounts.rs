//! Login accounts of ivm users: Unix accounts whose login shell is ivm's restricted shell,
//! made, given a password hash and removed with the shadow tools (`useradd`, `chpasswd -e`,
//! `userdel`), so the SSH server authenticates them like any account. Passwords reach the tools
//! only as hashes on standard input: never in an argument list, never as plain text.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The comment (GECOS) of accounts ivm made: only those are ever changed or removed.
pub const IVM_GECOS: &str = "ivm user";

/// A Unix account as the passwd file has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Comment field.
    pub gecos: String,
    /// Home directory.
    pub home: PathBuf,
    /// Login shell.
    pub shell: String,
}

impl Account {
    /// Whether ivm made it.
    pub fn is_ivm(&self) -> bool {
        self.gecos == IVM_GECOS
    }
}

/// The account `name` in the passwd file below `root`.
pub fn account(root: &Path, name: &str) -> Option<Account> {
    let text = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[0] != name {
            return None;
        }
        Some(Account {
            name: f[0].to_string(),
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            gecos: f[4].to_string(),
            home: PathBuf::from(f[5]),
            shell: f[6].to_string(),
        })
    })
}

fn run(tool: &str, args: &[&str], input: Option<&str>) -> Result<(), String> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    if let Some(text) = input {
        let mut stdin = child.stdin.take().ok_or("no standard input")?;
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("{tool}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{tool}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool} {} failed: {}",
            args.last().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Makes the login account `name` with a home directory and `shell`, marked as ivm's.
pub fn create_login(name: &str, shell: &Path) -> Result<(), String> {
    let shell = shell.to_string_lossy();
    run(
        "useradd",
        &[
            "--create-home",
            "--shell",
            &shell,
            "--comment",
            IVM_GECOS,
            "--user-group",
            name,
        ],
        None,
    )
}

/// Gives an ivm account `shell` as its login shell.
pub fn set_shell(name: &str, shell: &Path) -> Result<(), String> {
    run(
        "usermod",
        &["--shell", &shell.to_string_lossy(), name],
        None,
    )
}

/// Removes the login account `name` and its home directory.
pub fn delete_login(name: &str) -> Result<(), String> {
    run("userdel", &["--remove", name], None)
}

/// The password hash `/etc/shadow` (below `root`) has for `name`.
pub fn shadow_hash(root: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(root.join("etc/shadow")).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.next().unwrap_or_default().to_string())
    })
}

/// Sets the password hash of `name` (a crypt(3) string, or `!` to lock it).
pub fn set_password_hash(name: &str, hash: &str) -> Result<(), String> {
    if name.contains([':', '\n']) || hash.contains([':', '\n']) {
        return Err("a user name or hash with ':' or a line break".into());
    }
    run(
        "chpasswd",
        &["--encrypted"],
        Some(&format!("{name}:{hash}\n")),
    )
}

/// The keys in `home/.ssh/authorized_keys`.
pub fn authorized_keys(home: &Path) -> Vec<String> {
    std::fs::read_to_string(home.join(".ssh/authorized_keys"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Writes `home/.ssh/authorized_keys` with `keys`, owned by `owner` (uid, gid) and private to
/// it (0700 and 0600, as sshd requires).
pub fn write_authorized_keys(
    home: &Path,
    owner: (u32, u32),
    keys: &[String],
) -> std::io::Result<()> {
    use std::os::unix::fs::{chown, DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let dir = home.join(".ssh");
    if !dir.exists() {
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    }
    chown(&dir, Some(owner.0), Some(owner.1))?;
    let tmp = dir.join(".authorized_keys.new");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    for k in keys {
        writeln!(f, "{k}")?;
    }
    f.sync_all()?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    chown(&tmp, Some(owner.0), Some(owner.1))?;
    std::fs::rename(&tmp, dir.join("authorized_keys"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accounts_and_hashes_from_a_prepared_tree() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\npadmin:x:1001:1001:ivm user:/home/padmin:/var/lib/ivm/shell/ivm-rksh\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("etc/shadow"),
            "root:*:19000:0:99999:7:::\npadmin:$6$abc$def:19000:0:99999:7:::\n",
        )
        .unwrap();
        let a = account(t.path(), "padmin").unwrap();
        assert!(a.is_ivm());
        assert_eq!((a.uid, a.home.to_str().unwrap()), (1001, "/home/padmin"));
        assert!(!account(t.path(), "root").unwrap().is_ivm());
        assert_eq!(account(t.path(), "nobody"), None);
        assert_eq!(
            shadow_hash(t.path(), "padmin").as_deref(),
            Some("$6$abc$def")
        );
        assert!(set_password_hash("a:b", "x").is_err());
        let home = t.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        // SAFETY: getuid and getgid have no preconditions.
        let me = unsafe { (libc::getuid(), libc::getgid()) };
        write_authorized_keys(&home, me, &["ssh-ed25519 AAAA one".into()]).unwrap();
        assert_eq!(authorized_keys(&home), ["ssh-ed25519 AAAA one"]);
    }
}
