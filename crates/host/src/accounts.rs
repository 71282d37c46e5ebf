//! Login accounts of ivm users: Unix accounts whose login shell is ivm's restricted shell,
//! made, given a password hash and removed with the shadow tools (`useradd`, `chpasswd -e`,
//! `userdel`), so the SSH server authenticates them like any account. Passwords reach the tools
//! only as hashes on standard input: never in an argument list, never as plain text.
//! ivm never reads or writes a file in a user's home as root (a user's symlink there would
//! point root anywhere): SSH keys are kept in ivm's store and given to sshd by
//! `ivm authorized-keys`.

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
    ivm_txguard::host_action("accounts").map_err(|e| e.to_string())?;
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

/// Makes the login account `name` with a home directory and `shell`, marked as ivm's and in
/// [`IVM_GROUP`].
pub fn create_login(name: &str, shell: &Path) -> Result<(), String> {
    let shell = shell.to_string_lossy();
    run(
        "useradd",
        &[
            "--create-home",
            "--groups",
            IVM_GROUP,
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

/// The group every ivm login account belongs to: sshd's `Match Group` block for ivm users
/// names it (no forwarding, keys only from ivm).
pub const IVM_GROUP: &str = "ivm-users";

/// Makes the system group [`IVM_GROUP`] when the host lacks it.
pub fn ensure_group() -> Result<(), String> {
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    if groups
        .lines()
        .any(|l| l.split(':').next() == Some(IVM_GROUP))
    {
        return Ok(());
    }
    run("groupadd", &["--system", IVM_GROUP], None)
}

/// Whether `name` is a member of [`IVM_GROUP`] (as a supplementary group) below `root`.
pub fn in_ivm_group(root: &Path, name: &str) -> bool {
    std::fs::read_to_string(root.join("etc/group"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(':').next() == Some(IVM_GROUP))
        .any(|l| {
            l.rsplit(':')
                .next()
                .unwrap_or("")
                .split(',')
                .any(|m| m == name)
        })
}

/// Adds an ivm account to [`IVM_GROUP`].
pub fn join_ivm_group(name: &str) -> Result<(), String> {
    run("usermod", &["--append", "--groups", IVM_GROUP, name], None)
}

/// Locks `name` for every kind of login: the password locked and the account expired (sshd
/// refuses an expired account's key logins too).
pub fn lock_login(name: &str) -> Result<(), String> {
    run("usermod", &["--lock", "--expiredate", "1", name], None)
}

/// Kills every process whose real or effective user is `uid` and waits until none is left
/// (one forked meanwhile is killed in the next round). Returns how many signals were sent.
pub fn end_processes(uid: u32, timeout: std::time::Duration) -> Result<usize, String> {
    if uid == 0 {
        return Err("refusing to end root's processes".into());
    }
    let deadline = std::time::Instant::now() + timeout;
    let mut killed = 0;
    loop {
        let pids = processes_of(uid);
        if pids.is_empty() {
            return Ok(killed);
        }
        for pid in &pids {
            // SAFETY: kill(2) has no memory preconditions; the PID was read from /proc a
            // moment ago with this user's uid.
            if unsafe { libc::kill(*pid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "{} processes of user {uid} are still running",
                pids.len()
            ));
        }
        // Waiting for the kernel to reap what was killed: each round re-reads /proc.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The live (not zombie) processes whose real or effective user is `uid`.
fn processes_of(uid: u32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
                return false;
            };
            let field = |k: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            let zombie = field("State:").starts_with('Z');
            let ids: Vec<u32> = field("Uid:")
                .split_whitespace()
                .take(2)
                .filter_map(|v| v.parse().ok())
                .collect();
            !zombie && ids.contains(&uid)
        })
        .collect()
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
        std::fs::write(
            t.path().join("etc/group"),
            "root:x:0:\nivm-users:x:999:padmin,op1\n",
        )
        .unwrap();
        assert!(in_ivm_group(t.path(), "op1"));
        assert!(!in_ivm_group(t.path(), "root"));
        assert!(end_processes(0, std::time::Duration::ZERO).is_err());
    }
}
