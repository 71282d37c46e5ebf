//! The padmin door: ivm users are Unix login accounts whose shell is ivm's restricted shell,
//! reached through OpenSSH's sshd as IVM clients reach IVM. Each test runs its own sshd on a
//! random 127.0.0.1 port with its own host key and configuration (the system's sshd is never
//! touched), pointed at its own daemon through `SetEnv IVM_DATA_DIR`. The login accounts the
//! daemon makes are removed afterwards, pass or fail.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::lock;

use common::sshd::{output, start, unix_account, PASSWORD};

#[test]
fn padmin_runs_ivm_commands_over_ssh_as_clients_send_them() {
    let _l = lock();
    let (_accounts, d, sshd) = start();
    let line = unix_account("padmin").expect("the daemon made padmin's login account");
    assert!(
        line.contains(":ivm user:") && line.ends_with("/shell/ivm-rksh"),
        "{line}"
    );

    // One exec per command, as the old OpenStack IVM driver and libvirt's phyp driver did.
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=lp1,desired_procs=1,desired_mem=512",
    ]);
    let o = sshd.run(
        "padmin",
        PASSWORD,
        "lssyscfg -r lpar -F name,lpar_id,state | sed -e 's/,/ /g' | grep lp1 2>&1; echo Rc=$?",
    );
    assert_eq!(
        (o.stdout.as_str(), o.code),
        ("lp1 2 Not Activated\nRc=0\n", 0),
        "{o:?}"
    );
    let o = sshd.run(
        "padmin",
        PASSWORD,
        "ioscli lsivm; /usr/ios/cli/ioscli lsivm",
    );
    assert_eq!(o.stdout.lines().count(), 2, "{o:?}");
    assert!(o.stdout.lines().all(|l| l.ends_with(",1")), "{o:?}");
    let o = sshd.run(
        "padmin",
        PASSWORD,
        "echo $(lssyscfg -r lpar -F name | sort | head -n 1) `hostname` | wc -w",
    );
    assert_eq!(o.stdout.trim(), "2", "{o:?}");
    let o = sshd.run("padmin", PASSWORD, "lssyscfg -r lpar -F name | awk -F, '{print toupper($1)}' | tr A-Z a-z | uniq | cut -c1-3 | tail -n 1");
    assert_eq!(o.stdout, "lp1\n", "{o:?}");
    // What IVM's shell does not have is not found; nothing else runs.
    let o = sshd.run("padmin", PASSWORD, "lshmc -V");
    assert_eq!(o.code, 127, "{o:?}");
    assert!(o.stderr.contains("rksh: lshmc: not found"), "{o:?}");
    for (cmd, why) in [
        ("/bin/bash -c id", "restricted"),
        ("python3 -c 'print(1)'", "rksh: python3: not found"),
        ("cd /; ls > x", "restricted"),
        ("PATH=/bin:/usr/bin; id", "readonly"),
        (
            "echo x | sed -n 'e id'",
            "e/r/w commands disabled in sandbox mode",
        ),
        ("echo | awk '{system(\"id\")}'", "sandbox"),
        (
            "echo x | tee /tmp/ivm-escape",
            "only in your home directory",
        ),
    ] {
        let o = sshd.run("padmin", PASSWORD, cmd);
        assert_ne!(o.code, 0, "{cmd}: {o:?}");
        assert!(o.stderr.contains(why), "{cmd}: {o:?}");
        assert!(!o.stdout.contains("uid="), "{cmd} ran something: {o:?}");
    }
    assert!(!Path::new("/tmp/ivm-escape").exists());
    let o = sshd.run("padmin", PASSWORD, "cat /etc/shadow");
    assert_ne!(o.code, 0, "{o:?}");
    assert!(
        o.stdout.is_empty() && o.stderr.contains("only in your home directory"),
        "{o:?}"
    );

    // A wrong password gets nothing but the SSH refusal.
    let o = sshd.run("padmin", "wrong-password", "lsivm");
    assert_ne!(o.code, 0, "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
}

#[test]
fn an_interactive_session_has_ivms_prompt() {
    let _l = lock();
    let (_accounts, _d, sshd) = start();
    let mut args = vec!["-e".to_string(), "ssh".into(), "-tt".into()];
    args.extend(sshd.base("padmin"));
    args.extend([
        "-o".into(),
        "PubkeyAuthentication=no".into(),
        "127.0.0.1".into(),
    ]);
    let mut child = Command::new("sshpass")
        .args(&args)
        .env("SSHPASS", PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<u8>();
    std::thread::spawn(move || {
        for b in std::io::BufReader::new(stdout).bytes() {
            let Ok(b) = b else { break };
            if tx.send(b).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(b) => seen.push(b as char),
                Err(_) => panic!("no {needle:?} in {seen:?}"),
            }
        }
        let at = seen.find(needle).unwrap() + needle.len();
        let before = seen[..at].to_string();
        seen = seen[at..].to_string();
        before
    };
    wait_for("$ ");
    stdin.write_all(b"lsivm\n").unwrap();
    stdin.write_all(b"echo Rc=$?\n").unwrap();
    let out = wait_for("Rc=0");
    assert!(out.contains(",1"), "{out}");
    stdin.write_all(b"quit\n").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn passwords_keys_and_roles_follow_ivm_users() {
    let _l = lock();
    let (_accounts, d, sshd) = start();
    // SSH keys: mkauthkeys adds one, the login takes it; -r takes it away.
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("id");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test@ivm", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let public = public.trim();
    let o = sshd.run(
        "padmin",
        PASSWORD,
        &format!("mkauthkeys -a '{public}'; echo Rc=$?"),
    );
    assert_eq!(o.stdout, "Rc=0\n", "{o:?}");
    let o = sshd.run_with_key("padmin", &key, "lsivm");
    assert_eq!(o.code, 0, "{o:?}");
    let o = sshd.run("padmin", PASSWORD, "mkauthkeys -a 'not a key'");
    assert!(o.stderr.contains("one public key line"), "{o:?}");
    let o = sshd.run("padmin", PASSWORD, &format!("mkauthkeys -r '{public}'"));
    assert_eq!(o.code, 0, "{o:?}");
    assert_ne!(sshd.run_with_key("padmin", &key, "lsivm").code, 0);

    // A password changed through the API (as the browser changes it) is the next SSH login's.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let token = d.token("padmin", PASSWORD).await;
        let r = d
            .https()
            .put(d.url("/users/padmin/password"))
            .bearer_auth(token)
            .json(&serde_json::json!({"password": "another-pass-2"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    });
    assert_ne!(sshd.run("padmin", PASSWORD, "lsivm").code, 0);
    assert_eq!(sshd.run("padmin", "another-pass-2", "lsivm").code, 0);
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    assert!(
        shadow.lines().any(|l| l.starts_with("padmin:$6$")),
        "a SHA-512 crypt hash, never the password"
    );
    assert!(!shadow.contains("another-pass-2"));

    // Users made on the command line are login accounts with their role.
    let o = sshd.run_with_input(
        "padmin",
        "another-pass-2",
        "mkuser -attr pgrp=view ivmview; lsuser ivmview",
        "view-pass-1\nview-pass-1\n",
    );
    assert!(o.stdout.contains("ivmview roles=ViewOnly"), "{o:?}");
    assert!(unix_account("ivmview").is_some_and(|l| l.contains(":ivm user:")));
    let o = sshd.run("ivmview", "view-pass-1", "lssyscfg -r sys -F state");
    assert_eq!(o.stdout, "Operating\n", "{o:?}");
    let o = sshd.run(
        "ivmview",
        "view-pass-1",
        "mksyscfg -r lpar -i name=nope,desired_procs=1,desired_mem=512",
    );
    assert!(o.stderr.contains("HSCL350B"), "{o:?}");
    assert!(!d
        .ok(&["lssyscfg", "-r", "lpar", "-F", "name"])
        .contains("nope"));
    let o = sshd.run("ivmview", "view-pass-1", "oem_setup_env");
    assert!(o.stderr.contains("only padmin"), "{o:?}");
    // padmin's root shell, as on IVM.
    let o = sshd.run_with_input("padmin", "another-pass-2", "oem_setup_env", "id -u\nexit\n");
    assert!(o.stdout.lines().any(|l| l.trim() == "0"), "{o:?}");
    // passwd in the shell, for oneself; the next login takes the new password.
    let o = sshd.run_with_input(
        "ivmview",
        "view-pass-1",
        "passwd",
        "view-pass-2\nview-pass-2\n",
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert_ne!(sshd.run("ivmview", "view-pass-1", "lsivm").code, 0);
    assert_eq!(sshd.run("ivmview", "view-pass-2", "lsivm").code, 0);
    // A user removed is a login account removed.
    let o = sshd.run("padmin", "another-pass-2", "rmuser ivmview; echo Rc=$?");
    assert_eq!(o.stdout, "Rc=0\n", "{o:?}");
    assert!(unix_account("ivmview").is_none());
}

/// fence_lpar, unchanged from Debian, against a real partition through the door.
#[test]
fn fence_lpar_lists_starts_and_stops_partitions() {
    let _l = lock();
    let (_accounts, d, sshd) = start();
    common::install_guest(&d);
    common::define_guest(&d, "fenced", "desired_procs=1,desired_mem=256");
    let system = d.ok(&["lssyscfg", "-r", "sys", "-F", "name"]);
    let system = system.trim();
    let fence = |version: &str, action: &str| {
        let o = output(
            Command::new("fence_lpar")
                .args([
                    "--ip=127.0.0.1",
                    &format!("--ipport={}", sshd.port),
                    "--username=padmin",
                    &format!("--password={PASSWORD}"),
                    "--ssh",
                    "--ssh-options=-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                    &format!("--managed={system}"),
                    "--plug=fenced",
                    &format!("--hmc-version={version}"),
                    &format!("--action={action}"),
                ])
                .stdin(Stdio::piped()),
            "",
        );
        o
    };
    for version in ["4", "ivm"] {
        let o = fence(version, "list");
        assert_eq!(o.code, 0, "{version} list: {o:?}");
        assert!(o.stdout.contains("fenced"), "{version}: {o:?}");
        let o = fence(version, "on");
        assert_eq!(o.code, 0, "{version} on: {o:?}");
        assert_eq!(common::state(&d, "fenced"), "Running");
        let o = fence(version, "status");
        assert!(o.stdout.contains("Status: ON"), "{version} status: {o:?}");
        let o = fence(version, "reboot");
        assert_eq!(o.code, 0, "{version} reboot: {o:?}");
        let o = fence(version, "off");
        assert_eq!(o.code, 0, "{version} off: {o:?}");
        assert_eq!(common::state(&d, "fenced"), "Not Activated");
    }
}
