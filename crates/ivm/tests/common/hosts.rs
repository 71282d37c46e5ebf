//! Two ivm hosts on one machine, for partition mobility: each daemon in a network namespace
//! of its own with its own data directory, joined by a veth pair; the target's padmin door a
//! real sshd in its namespace, and the trust set up with `mkauthkeys --ip -u` as on IVM.

use std::io::Write;
use std::process::{Command, Stdio};

use super::sshd::{unix_account, Accounts, Sshd, PASSWORD};
use super::{install_guest, Daemon, Netns, Output};

pub const SOURCE_IP: &str = "10.231.0.1";
pub const TARGET_IP: &str = "10.231.0.2";

/// Two ivm hosts joined by a veth pair, the source trusted by the target's padmin.
pub struct Hosts {
    pub src: Daemon,
    pub dst: Daemon,
    _sshd: Sshd,
    _accounts: Accounts,
    _a: Netns,
    _b: Netns,
}

pub fn hosts(target_config: &str) -> Hosts {
    assert!(
        unix_account("padmin").is_none_or(|l| l.contains(":ivm user:")),
        "this host has a padmin account ivm did not make"
    );
    let accounts = Accounts(vec!["padmin"]);
    let a = Netns::new("ma");
    let b = Netns::new("mb");
    let (va, vb) = (format!("{}a", a.name), format!("{}b", b.name));
    a.ip(&[
        "link", "add", &va, "netns", &a.name, "type", "veth", "peer", "name", &vb, "netns", &b.name,
    ]);
    a.ip_in(&["addr", "add", &format!("{SOURCE_IP}/24"), "dev", &va]);
    a.ip_in(&["link", "set", &va, "up"]);
    b.ip_in(&["addr", "add", &format!("{TARGET_IP}/24"), "dev", &vb]);
    b.ip_in(&["link", "set", &vb, "up"]);
    let src = Daemon::start_in("name = \"ivm-src\"\nshutdown_delay_secs = 3\n", &a);
    let dst = Daemon::start_in(
        &format!(
            "name = \"ivm-dst\"\nserial_num = \"TGT0002\"\nunix_accounts = true\nshutdown_delay_secs = 3\n{target_config}"
        ),
        &b,
    );
    dst.set_password("padmin", PASSWORD);
    // The same boot files on both hosts, as an administrator copies them.
    install_guest(&src);
    install_guest(&dst);
    let sshd = Sshd::start_in(dst.data_dir(), &["padmin"], &b, TARGET_IP);
    let h = Hosts {
        src,
        dst,
        _sshd: sshd,
        _accounts: accounts,
        _a: a,
        _b: b,
    };
    // IVM's way: the source's key goes to the target's padmin, whose password is asked once.
    let o = with_input(
        &h.src,
        &["mkauthkeys", "--ip", TARGET_IP, "-u", "padmin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(o.code, 0, "mkauthkeys --ip: {o:?}");
    let o = h
        .src
        .ivm(&["mkauthkeys", "--ip", TARGET_IP, "-u", "padmin", "--test"]);
    assert_eq!(o.code, 0, "mkauthkeys --test: {o:?}");
    h
}

impl Hosts {
    /// The source's network namespace (where a test puts what both hosts reach).
    pub fn source_netns(&self) -> &str {
        &self._a.name
    }

    /// The target's network namespace.
    pub fn target_netns(&self) -> &str {
        &self._b.name
    }
}

pub fn with_input(d: &Daemon, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(super::ivm_bin())
        .args(args)
        .env("IVM_DATA_DIR", d.data_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
