//! A real `ivm serve` in a temporary data directory, and helpers to run commands against it.
//! The daemon is stopped (and its directory removed) when the handle drops, pass or fail.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The ivm binary cargo built for these tests.
pub fn ivm_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ivm"))
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A running daemon.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Child,
    pub addr: String,
    pub password: String,
}

impl Daemon {
    /// Starts a daemon; `config` is written to `ivm.toml` first (empty for the host's figures).
    pub fn start(config: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        // Traversable, so tests can run commands as other Unix users.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        if !config.is_empty() {
            std::fs::write(dir.path().join("ivm.toml"), config).unwrap();
        }
        let mut child = Command::new(ivm_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ivm serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut password = String::new();
        let mut addr = String::new();
        for line in lines.by_ref() {
            let line = line.expect("daemon output");
            if let Some(rest) = line.strip_prefix("ivm: created user padmin with password ") {
                password = rest.split_whitespace().next().unwrap().to_string();
            }
            if let Some(rest) = line.strip_prefix("ivm: serving https://") {
                addr = rest.split('/').next().unwrap().to_string();
                break;
            }
        }
        assert!(!addr.is_empty(), "daemon did not start");
        // Keep draining stdout so the daemon never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Daemon {
            dir,
            child,
            addr,
            password,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `ivm ARGS...` as root.
    pub fn ivm(&self, args: &[&str]) -> Output {
        self.run(Command::new(ivm_bin()).args(args))
    }

    /// Runs a command line through `sh -c`, with the data directory in the environment.
    pub fn sh(&self, script: &str) -> Output {
        self.run(Command::new("sh").args(["-c", script]))
    }

    /// Runs a prepared command with this daemon's data directory.
    pub fn run(&self, cmd: &mut Command) -> Output {
        let out = cmd
            .env("IVM_DATA_DIR", self.data_dir())
            .stdin(Stdio::null())
            .output()
            .expect("run command");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `ivm ARGS`, asserts success and no stderr, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.ivm(args);
        assert_eq!(o.code, 0, "ivm {args:?} failed: {o:?}");
        assert_eq!(o.stderr, "", "ivm {args:?} wrote to stderr");
        o.stdout
    }

    /// Runs `ivm ARGS`, asserts failure with nothing on stdout, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.ivm(args);
        assert_ne!(o.code, 0, "ivm {args:?} should fail: {o:?}");
        assert_eq!(o.stdout, "", "ivm {args:?} printed on failure");
        o.stderr
    }

    /// Sets padmin's password with `ivm passwd`.
    pub fn set_password(&self, user: &str, password: &str) {
        let mut child = Command::new(ivm_bin())
            .args(["passwd", user])
            .env("IVM_DATA_DIR", self.data_dir())
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// An HTTPS client that trusts the daemon's generated certificate.
    pub fn https(&self) -> reqwest::Client {
        let pem = std::fs::read(self.data_dir().join("tls/cert.pem")).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .resolve("localhost", self.addr.parse().unwrap())
            .build()
            .unwrap()
    }

    /// The API base URL, by a name the certificate covers.
    pub fn url(&self, path: &str) -> String {
        let port = self.addr.rsplit(':').next().unwrap();
        format!("https://localhost:{port}/api/v1{path}")
    }

    /// Logs in over HTTPS and returns a bearer token.
    pub async fn token(&self, user: &str, password: &str) -> String {
        let r = self
            .https()
            .post(self.url("/login"))
            .json(&serde_json::json!({"user": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {user}");
        let v: serde_json::Value = r.json().await.unwrap();
        v["token"].as_str().unwrap().to_string()
    }

    /// Stops the daemon with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child process by its PID.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}
