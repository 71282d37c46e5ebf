//! OpenSSH's client as ivm's way to another ivm host: this host's key (made once, root's
//! alone), the other hosts' keys as first seen (`known_hosts` of ivm's own), commands run there
//! through its restricted shell, and a stream carried inside the session (a migration's).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable the askpass helper prints (`ivm-askpass`): a password given once,
/// in the memory of root's processes only, never on disk.
pub const ASKPASS_SECRET: &str = "IVM_ASKPASS_SECRET";

/// The name the ivm binary answers to as ssh's askpass program.
pub const ASKPASS_NAME: &str = "ivm-askpass";

/// SSH failures.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// ssh or ssh-keygen could not be run.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// `ssh` or `ssh-keygen`.
        program: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The command ran on the other host and failed (its own message).
    #[error("{0}")]
    Remote(String),
    /// ssh itself failed: no connection, no login, a changed host key (ssh's message).
    #[error("{0}")]
    Connect(String),
    /// No answer in time.
    #[error("the other host did not answer within {0} s")]
    Timeout(u64),
    /// A file ivm keeps for SSH.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Asked for inside a store write transaction (a bug; nothing was run).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
}

/// Another host's user, as ssh reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Address or host name (checked by the caller's rules).
    pub host: String,
    /// Port (22 unless the address said otherwise).
    pub port: u16,
    /// The user there.
    pub user: String,
}

/// This host's SSH identity and the other hosts it knows, in a directory of root's.
#[derive(Clone, Debug)]
pub struct Identity {
    dir: PathBuf,
}

impl Identity {
    /// The identity kept in `dir` (made private), its key made with `ssh-keygen` the first time.
    pub fn open(dir: &Path) -> Result<Identity, SshError> {
        ivm_txguard::host_action("ssh.keygen")?;
        let io = |action, source| SshError::Io {
            action,
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io("make", e))?;
        std::fs::set_permissions(
            dir,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
        )
        .map_err(|e| io("protect", e))?;
        let id = Identity {
            dir: dir.to_path_buf(),
        };
        if !id.key().exists() {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "ivm", "-f"])
                .arg(id.key())
                .stdin(Stdio::null())
                .output()
                .map_err(|source| SshError::Spawn {
                    program: "ssh-keygen",
                    source,
                })?;
            if !out.status.success() {
                return Err(SshError::Remote(format!(
                    "ssh-keygen failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        Ok(id)
    }

    fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// This host's public key, one line (`mkauthkeys -g`).
    pub fn public_key(&self) -> Result<String, SshError> {
        let path = self.dir.join("id_ed25519.pub");
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|source| SshError::Io {
                action: "read",
                path,
                source,
            })
    }

    /// ssh's options: ivm's key only, ivm's known hosts only, nothing forwarded, no
    /// configuration file of root's, and a session that notices a dead peer.
    fn args(&self, peer: &Peer, first_login: bool) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut o = |opt: String| {
            a.push("-o".into());
            a.push(opt.into());
        };
        o(format!("IdentityFile={}", self.key().display()));
        o("IdentitiesOnly=yes".into());
        o(format!(
            "UserKnownHostsFile={}",
            self.known_hosts().display()
        ));
        o("GlobalKnownHostsFile=/dev/null".into());
        // A host is trusted as first seen when its user's password was given for it
        // (mkauthkeys); afterwards a changed host key is refused.
        o(format!(
            "StrictHostKeyChecking={}",
            if first_login { "accept-new" } else { "yes" }
        ));
        o(format!(
            "BatchMode={}",
            if first_login { "no" } else { "yes" }
        ));
        o(format!(
            "PasswordAuthentication={}",
            if first_login { "yes" } else { "no" }
        ));
        o("KbdInteractiveAuthentication=no".into());
        o("ConnectTimeout=10".into());
        o("ServerAliveInterval=5".into());
        o("ServerAliveCountMax=3".into());
        o("ForwardAgent=no".into());
        o("ForwardX11=no".into());
        o("ClearAllForwardings=yes".into());
        o("LogLevel=ERROR".into());
        a.push("-F".into());
        a.push("/dev/null".into());
        a.push("-T".into());
        a.push("-p".into());
        a.push(peer.port.to_string().into());
        a.push("-l".into());
        a.push(peer.user.clone().into());
        a.push("--".into());
        a.push(peer.host.clone().into());
        a
    }

    fn command(&self, peer: &Peer, first_login: bool, remote: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.args(peer, first_login)).arg(remote);
        c.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.dir)
            .env("LANG", "C.UTF-8");
        // The session ends with the daemon: a migration stream must never outlive the
        // process that decides what happens to the partition.
        // SAFETY: prctl between fork and exec, async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        c
    }

    /// Runs `remote` (a command of ivm's making, no user text) on `peer` with this host's
    /// key, `input` on its standard input; returns its standard output.
    pub fn run(
        &self,
        peer: &Peer,
        remote: &str,
        input: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, SshError> {
        ivm_txguard::host_action("ssh.run")?;
        let c = self.command(peer, false, remote);
        finish(c, input, timeout)
    }

    /// Runs `remote` on `peer` logging in with `password` (through the askpass helper
    /// `askpass`, which prints it from its environment), trusting the host key as first seen.
    pub fn run_with_password(
        &self,
        peer: &Peer,
        password: &str,
        askpass: &Path,
        remote: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, SshError> {
        ivm_txguard::host_action("ssh.run")?;
        let mut c = self.command(peer, true, remote);
        c.env("SSH_ASKPASS", askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", "none")
            .env(ASKPASS_SECRET, password);
        finish(c, b"", timeout)
    }

    /// Starts `remote` on `peer` with `stream` as its standard input and output: what is
    /// written to the other end of `stream` arrives at the remote command, and back.
    pub fn spawn_stream(
        &self,
        peer: &Peer,
        remote: &str,
        stream: UnixStream,
    ) -> Result<Child, SshError> {
        ivm_txguard::host_action("ssh.stream")?;
        let out = stream.try_clone().map_err(|source| SshError::Spawn {
            program: "ssh",
            source,
        })?;
        let mut c = self.command(peer, false, remote);
        c.stdin(Stdio::from(std::os::fd::OwnedFd::from(stream)))
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(out)))
            .stderr(Stdio::piped());
        c.spawn().map_err(|source| SshError::Spawn {
            program: "ssh",
            source,
        })
    }
}

/// What a finished stream session said on its standard error (its reason, when it failed).
pub fn stream_error(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s.trim().to_string()
}

fn finish(mut c: Command, input: &[u8], timeout: Duration) -> Result<Vec<u8>, SshError> {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SshError::Spawn {
            program: "ssh",
            source,
        })?;
    let mut stdin = child.stdin.take();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&input);
        }
    });
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(16 << 20).read_to_end(&mut v);
        }
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(64 << 10).read_to_end(&mut v);
        }
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SshError::Timeout(timeout.as_secs()));
            }
        }
    };
    let _ = writer.join();
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        let err = String::from_utf8_lossy(&err).trim().to_string();
        let out_text = String::from_utf8_lossy(&out).trim().to_string();
        let message = match (err.is_empty(), out_text.is_empty()) {
            (false, _) => err,
            (true, false) => out_text,
            (true, true) => format!("the remote command failed ({status})"),
        };
        // ssh exits 255 for its own failures, else with the remote command's status.
        Err(if status.code() == Some(255) {
            SshError::Connect(message)
        } else {
            SshError::Remote(message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_name_ivms_files_and_the_host_last() {
        let id = Identity {
            dir: PathBuf::from("/d/ssh"),
        };
        let peer = Peer {
            host: "10.0.0.2".into(),
            port: 22,
            user: "padmin".into(),
        };
        let a: Vec<String> = id
            .args(&peer, false)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        let joined = a.join(" ");
        assert!(
            joined.contains("IdentityFile=/d/ssh/id_ed25519"),
            "{joined}"
        );
        assert!(joined.contains("StrictHostKeyChecking=yes"), "{joined}");
        assert!(joined.contains("BatchMode=yes"), "{joined}");
        assert!(joined.contains("ClearAllForwardings=yes"), "{joined}");
        assert_eq!(&a[a.len() - 2..], ["--", "10.0.0.2"]);
        let first: String = id
            .args(&peer, true)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            first.contains("StrictHostKeyChecking=accept-new"),
            "{first}"
        );
    }
}
