//! Ceph RBD pools through Ceph's own tools (`rbd`, and `ceph fsid` once), their reports read
//! as JSON. No configuration file is read: the monitors, the user and the key are given by
//! ivm, the key in the tools' environment (`CEPH_ARGS`), which only root can read, never in
//! their arguments, which every user of the host can.

use std::process::Command;

use serde_json::Value;

/// A Ceph command that failed, with what it said.
#[derive(Debug, thiserror::Error)]
#[error("{tool} {command} failed: {message}")]
pub struct RbdError {
    /// `rbd` or `ceph`.
    pub tool: &'static str,
    /// The subcommand.
    pub command: String,
    /// Its own message (the last line of stderr), or why it could not run.
    pub message: String,
}

/// One Ceph pool as ivm reaches it.
#[derive(Clone)]
pub struct RbdPool {
    /// Monitors, `HOST[:PORT]` separated by commas.
    pub monitors: String,
    /// The Ceph pool.
    pub pool: String,
    /// The Ceph user, without `client.`.
    pub user: String,
    /// Its key (base64).
    pub key: String,
}

impl std::fmt::Debug for RbdPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RbdPool")
            .field("monitors", &self.monitors)
            .field("pool", &self.pool)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl RbdPool {
    fn run(&self, tool: &'static str, args: &[&str]) -> Result<String, RbdError> {
        // The subcommand, for messages: the first word after the pool option, if any.
        let command = match args {
            ["-p", _, rest @ ..] => rest,
            all => all,
        }
        .iter()
        .find(|a| !a.starts_with('-'))
        .unwrap_or(&"")
        .to_string();
        let err = |message: String| RbdError {
            tool,
            command: command.clone(),
            message,
        };
        ivm_txguard::host_action("rbd").map_err(|e| err(e.to_string()))?;
        let out = Command::new(tool)
            .args([
                "--conf",
                "/dev/null",
                "-m",
                &self.monitors,
                "--id",
                &self.user,
            ])
            // An unreachable cluster answers in bounded time, not after the default 5 minutes.
            .args([
                "--client_mount_timeout",
                "15",
                "--rados_mon_op_timeout",
                "30",
            ])
            .args(args)
            .env("CEPH_ARGS", format!("--key {}", self.key))
            .output()
            .map_err(|e| err(format!("cannot run {tool} ({e}); install ceph-common")))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or("no message")
                .to_string();
            return Err(err(last));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn rbd(&self, args: &[&str]) -> Result<String, RbdError> {
        let mut all = vec!["-p", &self.pool];
        all.extend_from_slice(args);
        self.run("rbd", &all)
    }

    /// The cluster's fsid (which also proves the monitors, the user and the key work).
    pub fn fsid(&self) -> Result<String, RbdError> {
        Ok(self.run("ceph", &["fsid"])?.trim().to_string())
    }

    /// Every image in the pool: (name, size in MB rounded up).
    pub fn images(&self) -> Result<Vec<(String, u64)>, RbdError> {
        let out = self.rbd(&["ls", "-l", "--format", "json"])?;
        let v: Value = serde_json::from_str(if out.trim().is_empty() { "[]" } else { &out })
            .map_err(|e| RbdError {
                tool: "rbd",
                command: "ls".into(),
                message: format!("unreadable report: {e}"),
            })?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            // A snapshot is listed beside its image; only images count.
            .filter(|i| i.get("snapshot").is_none())
            .filter_map(|i| {
                let name = i.get("image")?.as_str()?.to_string();
                let bytes = i.get("size")?.as_u64()?;
                Some((name, bytes.div_ceil(1 << 20)))
            })
            .collect())
    }

    /// Makes image `name` of `size_mb` (thin, as RBD images are).
    pub fn create(&self, name: &str, size_mb: u64) -> Result<(), RbdError> {
        self.rbd(&["create", "--size", &format!("{size_mb}M"), "--", name])
            .map(|_| ())
    }

    /// Grows image `name` to `size_mb`.
    pub fn grow(&self, name: &str, size_mb: u64) -> Result<(), RbdError> {
        self.rbd(&["resize", "--size", &format!("{size_mb}M"), "--", name])
            .map(|_| ())
    }

    /// Renames image `from` to `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), RbdError> {
        self.rbd(&["mv", "--", from, to]).map(|_| ())
    }

    /// Removes image `name` (a missing one is fine: an interrupted removal).
    pub fn remove(&self, name: &str) -> Result<(), RbdError> {
        match self.rbd(&["rm", "--no-progress", "--", name]) {
            Ok(_) => Ok(()),
            Err(e) if e.message.contains("No such file or directory") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The monitors as QEMU's `server` list: (host, port), port 6789 when none is given.
    pub fn servers(&self) -> Vec<(String, u16)> {
        self.monitors
            .split(',')
            .map(|m| match m.parse::<std::net::Ipv6Addr>() {
                Ok(_) => (m.to_string(), 6789),
                Err(_) => match m.rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), p.parse().unwrap_or(6789)),
                    None => (m.to_string(), 6789),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitors_become_qemu_servers_and_the_key_stays_out_of_debug_output() {
        let p = RbdPool {
            monitors: "10.0.0.1,ceph2:3300,fe80::1".into(),
            pool: "ivm".into(),
            user: "ivm".into(),
            key: "SECRETKEY".into(),
        };
        assert_eq!(
            p.servers(),
            vec![
                ("10.0.0.1".to_string(), 6789),
                ("ceph2".to_string(), 3300),
                ("fe80::1".to_string(), 6789)
            ]
        );
        assert!(!format!("{p:?}").contains("SECRETKEY"));
    }
}
