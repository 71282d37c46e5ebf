//! A test's own sshd on a random 127.0.0.1 port, configured with the drop-in ivm writes
//! (`ivm sshd-config`), and the login accounts its daemon makes, removed afterwards.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::Daemon;

pub const CONFIG: &str = "unix_accounts = true\nshutdown_delay_secs = 3\n";
pub const PASSWORD: &str = "padmin-pass-1";

/// The test's own sshd.
pub struct Sshd {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
    _exe_dir: tempfile::TempDir,
}

/// The drop-in ivm writes for the system's sshd (`ivm sshd-config`), for this daemon.
pub fn drop_in(data_dir: &Path, exe_dir: &tempfile::TempDir) -> String {
    let out = Command::new(super::ivm_bin())
        .args(["sshd-config", "--data-dir"])
        .arg(data_dir)
        .arg("--exe")
        .arg(exe_dir.path().join("ivm"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

impl Sshd {
    pub fn start(data_dir: &Path, users: &[&str]) -> Sshd {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Sshd::start_at(data_dir, users, "127.0.0.1", port, None)
    }

    /// An sshd in the test's namespace `ns`, on `addr` port 22 (the namespace has no other).
    pub fn start_in(data_dir: &Path, users: &[&str], ns: &super::Netns, addr: &str) -> Sshd {
        Sshd::start_at(data_dir, users, addr, 22, Some(ns))
    }

    fn start_at(
        data_dir: &Path,
        users: &[&str],
        addr: &str,
        port: u16,
        ns: Option<&super::Netns>,
    ) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("host_key");
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .output()
            .expect("ssh-keygen (apt install openssh-client)");
        assert!(out.status.success(), "{out:?}");
        // sshd runs the AuthorizedKeysCommand only from a path that root alone can write,
        // every directory up to `/` included: a copy of the binary in a directory in /run.
        let exe_dir = tempfile::Builder::new()
            .prefix("ivm-sshd-test")
            .tempdir_in("/run")
            .unwrap();
        std::fs::copy(super::ivm_bin(), exe_dir.path().join("ivm")).unwrap();
        let cfg = dir.path().join("sshd_config");
        std::fs::write(
            &cfg,
            format!(
                "Port {port}\nListenAddress {addr}\nHostKey {}\nPidFile {}/sshd.pid\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 PermitRootLogin no\nAllowUsers {}\nPrintMotd no\nPrintLastLog no\nLogLevel ERROR\n\
                 Subsystem sftp internal-sftp\n{}",
                key.display(),
                dir.path().display(),
                users.join(" "),
                drop_in(data_dir, &exe_dir),
            ),
        )
        .unwrap();
        // Privilege separation needs its empty directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.args(["-D", "-e", "-f"]).arg(&cfg).stderr(Stdio::null());
        if let Some(ns) = ns {
            use std::os::unix::io::AsRawFd;
            use std::os::unix::process::CommandExt;
            let f = std::fs::File::open(ns.path()).expect("open the namespace");
            // SAFETY: between fork and exec only setns on a descriptor opened before the fork.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("sshd (apt install openssh-server)");
        let s = Sshd {
            child,
            port,
            _dir: dir,
            _exe_dir: exe_dir,
        };
        let target = format!("{addr}:{port}");
        super::eventually("sshd to listen", Duration::from_secs(10), || {
            let t = target.clone();
            match ns {
                Some(ns) => ns.run(move || std::net::TcpStream::connect(t.as_str()).is_ok()),
                None => std::net::TcpStream::connect(t.as_str()).is_ok(),
            }
        });
        s
    }

    pub fn base(&self, user: &str) -> Vec<String> {
        [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-p",
            &self.port.to_string(),
            "-l",
            user,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// `ssh user@127.0.0.1 COMMAND` with a password (through sshpass).
    pub fn run(&self, user: &str, password: &str, command: &str) -> super::Output {
        self.run_with_input(user, password, command, "")
    }

    pub fn run_with_input(
        &self,
        user: &str,
        password: &str,
        command: &str,
        input: &str,
    ) -> super::Output {
        let mut args = vec!["-e".to_string(), "ssh".into()];
        args.extend(self.base(user));
        args.extend(["-o".into(), "PubkeyAuthentication=no".into()]);
        args.extend(["127.0.0.1".into(), command.into()]);
        output(
            Command::new("sshpass")
                .args(&args)
                .env("SSHPASS", password)
                .stdin(Stdio::piped()),
            input,
        )
    }

    /// `ssh ARGS` with a password, left running (forwarding).
    pub fn forward(&self, user: &str, password: &str, extra: &[&str]) -> Child {
        self.spawn(user, password, extra, None)
    }

    /// `ssh ARGS 127.0.0.1 [COMMAND]` with a password, left running.
    pub fn spawn(
        &self,
        user: &str,
        password: &str,
        extra: &[&str],
        command: Option<&str>,
    ) -> Child {
        let mut args = vec!["-e".to_string(), "ssh".into()];
        args.extend(self.base(user));
        args.extend(["-o".into(), "PubkeyAuthentication=no".into()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("127.0.0.1".into());
        args.extend(command.map(str::to_string));
        Command::new("sshpass")
            .args(&args)
            .env("SSHPASS", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh")
    }

    /// `ssh` with a key only.
    pub fn run_with_key(&self, user: &str, key: &Path, command: &str) -> super::Output {
        let mut args = self.base(user);
        args.extend([
            "-o".into(),
            "PasswordAuthentication=no".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-i".into(),
            key.display().to_string(),
            "127.0.0.1".into(),
            command.into(),
        ]);
        output(Command::new("ssh").args(&args).stdin(Stdio::piped()), "")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn output(cmd: &mut Command, input: &str) -> super::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ssh");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    super::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Removes the login accounts (ivm's only) and the sudo rule the daemon made, pass or fail.
pub struct Accounts(pub Vec<&'static str>);

impl Drop for Accounts {
    fn drop(&mut self) {
        for name in &self.0 {
            let made_by_ivm = std::fs::read_to_string("/etc/passwd")
                .unwrap_or_default()
                .lines()
                .any(|l| l.starts_with(&format!("{name}:")) && l.contains(":ivm user:"));
            if made_by_ivm {
                let _ = Command::new("pkill").args(["-KILL", "-u", name]).output();
                let _ = Command::new("userdel").args(["--remove", name]).output();
            }
        }
        let _ = std::fs::remove_file("/etc/sudoers.d/ivm-oem-setup-env");
        // The group ivm made for its accounts, once none is left in it.
        let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
        if groups
            .lines()
            .any(|l| l.starts_with("ivm-users:") && l.ends_with(':'))
        {
            let _ = Command::new("groupdel").arg("ivm-users").output();
        }
    }
}

pub fn unix_account(name: &str) -> Option<String> {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .map(str::to_string)
}

pub fn start() -> (Accounts, Daemon, Sshd) {
    let accounts = Accounts(vec!["padmin", "ivmview"]);
    assert!(
        unix_account("padmin").is_none_or(|l| l.contains(":ivm user:")),
        "this host has a padmin account ivm did not make"
    );
    let d = Daemon::start(CONFIG);
    d.set_password("padmin", PASSWORD);
    let sshd = Sshd::start(d.data_dir(), &["padmin", "ivmview"]);
    (accounts, d, sshd)
}

/// Makes an ivm user through the API, as padmin.
pub fn make_user(d: &Daemon, name: &str, role: &str, password: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let token = d.token("padmin", PASSWORD).await;
        let r = d
            .https()
            .post(d.url("/users"))
            .bearer_auth(token)
            .json(&serde_json::json!({"name": name, "role": role, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
    });
}
