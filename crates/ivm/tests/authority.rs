//! The authorization matrix: every REST route, and the IVM commands over the Unix socket and
//! over SSH, called as anonymous, View Only, Service Representative, View/Modify and padmin,
//! against this file's own table of what each may do (IVM's rules, written here without the
//! server's table). A refused call answers 401/403 (or HSCL350B) and changes nothing.

mod common;

use std::process::Command;

use common::sshd::{make_user, unix_account, Accounts, Sshd, CONFIG, PASSWORD};
use common::{lock, Daemon};
use serde_json::{json, Value};

/// Who a call is made as.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Anonymous,
    ViewOnly,
    ServiceRep,
    ViewModify,
    Padmin,
}

const CALLERS: [Caller; 5] = [
    Caller::Anonymous,
    Caller::ViewOnly,
    Caller::ServiceRep,
    Caller::ViewModify,
    Caller::Padmin,
];

impl Caller {
    /// The ivm user (and Unix account) and password; anonymous has none.
    fn user(self) -> Option<(&'static str, &'static str)> {
        match self {
            Caller::Anonymous => None,
            Caller::ViewOnly => Some(("azview", "azview-pass-1")),
            Caller::ServiceRep => Some(("azrep", "azrep-pass-1")),
            Caller::ViewModify => Some(("azop", "azop-pass-1")),
            Caller::Padmin => Some(("padmin", PASSWORD)),
        }
    }
}

/// Who IVM lets do a thing.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// Even before logging in.
    Anyone,
    /// Any logged-in user.
    AnyUser,
    /// Virtual terminals: all but View Only.
    NotViewOnly,
    /// Changes: View/Modify users (padmin among them).
    Modifiers,
    /// Oneself (the path names the caller) or padmin.
    Own,
    /// Another user's or padmin's account: padmin alone.
    PadminOnly,
}

fn may(who: Who, c: Caller) -> bool {
    match who {
        Who::Anyone => true,
        Who::AnyUser | Who::Own => c != Caller::Anonymous,
        Who::NotViewOnly => !matches!(c, Caller::Anonymous | Caller::ViewOnly),
        Who::Modifiers => matches!(c, Caller::ViewModify | Caller::Padmin),
        Who::PadminOnly => c == Caller::Padmin,
    }
}

/// Every route with a body that makes an allowed call harmless (a missing object, a value
/// the rules refuse); `{me}` is the caller's own name.
fn routes() -> Vec<(&'static str, &'static str, Option<Value>, Who)> {
    use Who::*;
    let bad = || Some(json!({"no_such_attribute": 1}));
    vec![
        ("POST", "/api/v1/login", Some(json!({})), Anyone),
        ("POST", "/api/v1/logout", None, AnyUser),
        ("GET", "/api/v1/session", None, AnyUser),
        ("POST", "/api/v1/tokens", None, AnyUser),
        ("GET", "/api/v1/system", None, AnyUser),
        ("GET", "/api/v1/system/resources", None, AnyUser),
        ("GET", "/api/v1/system/mempool", None, AnyUser),
        ("POST", "/api/v1/system/mempool", bad(), Modifiers),
        ("PATCH", "/api/v1/system/mempool", bad(), Modifiers),
        ("DELETE", "/api/v1/system/mempool", None, Modifiers),
        ("POST", "/api/v1/system/mempool/pgdev", bad(), Modifiers),
        (
            "DELETE",
            "/api/v1/system/mempool/pgdev/hdisk99",
            None,
            Modifiers,
        ),
        ("GET", "/api/v1/partitions", None, AnyUser),
        ("POST", "/api/v1/partitions", bad(), Modifiers),
        ("POST", "/api/v1/partitions?dry_run=true", bad(), Modifiers),
        ("GET", "/api/v1/partitions/1", None, AnyUser),
        ("PATCH", "/api/v1/partitions/99", bad(), Modifiers),
        ("DELETE", "/api/v1/partitions/99", None, Modifiers),
        ("POST", "/api/v1/partitions/move", bad(), Modifiers),
        ("POST", "/api/v1/partitions/99/activate", bad(), Modifiers),
        ("POST", "/api/v1/partitions/99/shutdown", bad(), Modifiers),
        ("POST", "/api/v1/partitions/99/dlpar", bad(), Modifiers),
        ("POST", "/api/v1/partitions/99/ethernet", bad(), Modifiers),
        ("GET", "/api/v1/partitions/99/terminal", None, NotViewOnly),
        ("GET", "/api/v1/partitions/99/console", None, NotViewOnly),
        ("DELETE", "/api/v1/partitions/99/console", None, NotViewOnly),
        ("GET", "/api/v1/partitions/99/display", None, NotViewOnly),
        ("GET", "/api/v1/partitions/99/screen", None, NotViewOnly),
        ("GET", "/api/v1/users", None, Modifiers),
        ("POST", "/api/v1/users", bad(), PadminOnly),
        ("PATCH", "/api/v1/users/azother", bad(), PadminOnly),
        ("PATCH", "/api/v1/users/padmin", bad(), PadminOnly),
        ("DELETE", "/api/v1/users/nosuch", None, PadminOnly),
        (
            "PUT",
            "/api/v1/users/{me}/password",
            Some(json!({"password": "short"})),
            Own,
        ),
        (
            "PUT",
            "/api/v1/users/azother/password",
            Some(json!({"password": "short"})),
            PadminOnly,
        ),
        (
            "PUT",
            "/api/v1/users/padmin/password",
            Some(json!({"password": "short"})),
            PadminOnly,
        ),
        ("GET", "/api/v1/users/{me}/keys", None, Own),
        ("GET", "/api/v1/users/azother/keys", None, PadminOnly),
        (
            "PUT",
            "/api/v1/users/{me}/keys",
            Some(json!(["not a key"])),
            Own,
        ),
        (
            "PUT",
            "/api/v1/users/azother/keys",
            Some(json!(["not a key"])),
            PadminOnly,
        ),
        (
            "PUT",
            "/api/v1/users/padmin/keys",
            Some(json!(["not a key"])),
            PadminOnly,
        ),
        ("GET", "/api/v1/tasks", None, AnyUser),
        ("GET", "/api/v1/storage", None, AnyUser),
        ("POST", "/api/v1/storage/cfgdev", None, Modifiers),
        ("POST", "/api/v1/storage/pools", bad(), Modifiers),
        ("POST", "/api/v1/storage/vgpools", bad(), Modifiers),
        ("POST", "/api/v1/storage/vgpools/add", bad(), Modifiers),
        ("POST", "/api/v1/storage/vgpools/remove", bad(), Modifiers),
        ("DELETE", "/api/v1/storage/pools/nosuch", None, Modifiers),
        (
            "POST",
            "/api/v1/storage/pools/nosuch/default",
            None,
            Modifiers,
        ),
        ("POST", "/api/v1/storage/disks", bad(), Modifiers),
        ("PATCH", "/api/v1/storage/disks/nosuch", bad(), Modifiers),
        ("DELETE", "/api/v1/storage/disks/nosuch", None, Modifiers),
        ("POST", "/api/v1/storage/mappings", bad(), Modifiers),
        ("DELETE", "/api/v1/storage/mappings/nosuch", None, Modifiers),
        ("POST", "/api/v1/storage/repository", bad(), Modifiers),
        ("PATCH", "/api/v1/storage/repository", bad(), Modifiers),
        ("DELETE", "/api/v1/storage/repository", None, Modifiers),
        ("POST", "/api/v1/storage/media", bad(), Modifiers),
        ("PUT", "/api/v1/storage/media/nosuch", None, Modifiers),
        ("PATCH", "/api/v1/storage/media/nosuch", bad(), Modifiers),
        ("DELETE", "/api/v1/storage/media/nosuch", None, Modifiers),
        ("POST", "/api/v1/storage/optical", bad(), Modifiers),
        (
            "POST",
            "/api/v1/storage/optical/vtopt99/load",
            bad(),
            Modifiers,
        ),
        (
            "POST",
            "/api/v1/storage/optical/vtopt99/unload",
            bad(),
            Modifiers,
        ),
        ("GET", "/api/v1/backup", None, Modifiers),
        ("GET", "/api/v1/backup/file", None, Modifiers),
        ("POST", "/api/v1/backup/restore", bad(), Modifiers),
        ("POST", "/api/v1/backup/clear", None, Modifiers),
        ("GET", "/api/v1/utilization", None, AnyUser),
        ("GET", "/api/v1/utilization/series", None, AnyUser),
        ("GET", "/api/v1/utilization/events", None, AnyUser),
        ("GET", "/api/v1/utilization/config", None, AnyUser),
        ("PUT", "/api/v1/utilization/config", bad(), Modifiers),
        ("GET", "/api/v1/network", None, AnyUser),
        ("POST", "/api/v1/network/sea", bad(), Modifiers),
        ("DELETE", "/api/v1/network/devices/ent99", None, Modifiers),
        ("GET", "/api/v1/events", None, AnyUser),
        ("GET", "/metrics", None, AnyUser),
    ]
}

/// The IVM commands, with arguments that make an allowed run harmless.
fn commands() -> Vec<(&'static str, Who)> {
    use Who::*;
    vec![
        ("lssyscfg -r sys -F name", AnyUser),
        ("lssyscfg -r lpar -F name,state", AnyUser),
        ("lssyscfg -r prof -F name", AnyUser),
        ("lshwres -r mem --level sys", AnyUser),
        ("lshwres -r proc --level sys", AnyUser),
        ("lsmap -all", AnyUser),
        ("lssp", AnyUser),
        ("lspv", AnyUser),
        ("lsrefcode -r lpar", AnyUser),
        ("lslparutil -r config", AnyUser),
        ("lsuser", AnyUser),
        (
            "mksyscfg -r lpar -i name=azx,desired_procs=1,desired_mem=99999999",
            Modifiers,
        ),
        (
            "chsyscfg -r prof -i name=azlp,desired_mem=99999999",
            Modifiers,
        ),
        ("rmsyscfg -r lpar --id 1", Modifiers),
        ("chsysstate -r lpar -o shutdown -n azlp", Modifiers),
        ("chhwres -r mem -o a --id 2 -q 99999999", Modifiers),
        ("mkbdsp -sp nosuch 10M -bd azdisk", Modifiers),
        ("mkvdev -vdev nosuch -vadapter vhost99", Modifiers),
        ("rmvt -id 2", NotViewOnly),
        ("chuser -attr pgrp=view azother", PadminOnly),
        ("rmuser nosuch", PadminOnly),
        ("mkauthkeys -l", Own),
    ]
}

/// What the store holds, as padmin sees it: compared around every refused call. The task log
/// is left out (a refused change is recorded there, as IVM records failed tasks).
async fn snapshot(d: &Daemon, token: &str) -> Vec<String> {
    let c = d.https();
    let mut out = Vec::new();
    for path in [
        "/partitions",
        "/users",
        "/storage",
        "/network",
        "/system/mempool",
        "/utilization/config",
        "/users/azview/keys",
        "/users/azop/keys",
        "/users/azother/keys",
        "/users/padmin/keys",
    ] {
        let r = c.get(d.url(path)).bearer_auth(token).send().await.unwrap();
        out.push(format!("{path} {} {}", r.status(), r.text().await.unwrap()));
    }
    out
}

#[test]
fn every_route_and_command_refuses_whom_ivm_refuses() {
    let _l = lock();
    let accounts = Accounts(vec!["padmin", "azview", "azrep", "azop", "azother"]);
    let d = Daemon::start(CONFIG);
    d.set_password("padmin", PASSWORD);
    make_user(&d, "azview", "View Only", "azview-pass-1");
    make_user(&d, "azrep", "Service Representative", "azrep-pass-1");
    make_user(&d, "azop", "View/Modify", "azop-pass-1");
    make_user(&d, "azother", "View Only", "azother-pass-1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cells = 0;
    let mut wrong = Vec::new();

    // REST, over HTTPS with each caller's token (a fresh one for each call, since logout ends it).
    let routes = routes();
    rt.block_on(async {
        let admin = d.token("padmin", PASSWORD).await;
        let c = d.https();
        for &caller in &CALLERS {
            for (method, path, body, who) in &routes {
                let me = caller.user().map_or("nobody", |u| u.0);
                let path = path.replace("{me}", me);
                let url = if path == "/metrics" {
                    d.url("/metrics").replace("/api/v1/metrics", "/metrics")
                } else {
                    d.url(path.trim_start_matches("/api/v1"))
                };
                let allowed = may(*who, caller);
                let before = if allowed {
                    Vec::new()
                } else {
                    snapshot(&d, &admin).await
                };
                let mut req = c.request(method.parse().unwrap(), &url);
                if let Some((user, pw)) = caller.user() {
                    req = req.bearer_auth(d.token(user, pw).await);
                }
                if let Some(b) = body {
                    req = req.json(b);
                }
                let status = req.send().await.unwrap().status().as_u16();
                cells += 1;
                let refused = status == 401 || status == 403;
                if allowed == refused {
                    wrong.push(format!(
                        "{caller:?} {method} {path}: {status}, allowed {allowed}"
                    ));
                }
                if !allowed {
                    let after = snapshot(&d, &admin).await;
                    if let Some((b, a)) = before.iter().zip(&after).find(|(b, a)| b != a) {
                        wrong.push(format!(
                            "{caller:?} {method} {path}: refused but changed the store: {b} -> {a}"
                        ));
                    }
                }
            }
        }
    });
    let rest_cells = cells;
    // (An allowed `POST /backup/clear` above removed every client partition.)
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=azlp,desired_procs=1,desired_mem=256",
    ]);

    // The commands over the Unix socket, run as each caller's Unix account (anonymous: a
    // Unix user with no ivm account).
    let commands = commands();
    for &caller in &CALLERS {
        let uid = match caller.user() {
            Some((user, _)) => unix_account(user)
                .expect("login account")
                .split(':')
                .nth(2)
                .unwrap()
                .to_string(),
            None => "65534".into(),
        };
        for (cmd, who) in &commands {
            let args: Vec<&str> = cmd.split(' ').collect();
            let o = d.run(common::as_uid(&uid).arg(common::ivm_bin()).args(&args));
            cells += 1;
            let refused =
                o.stderr.contains("HSCL350B") || o.stderr.contains("is not an ivm login account");
            if may(*who, caller) == refused {
                wrong.push(format!("{caller:?} socket `{cmd}`: {o:?}"));
            }
        }
    }
    let socket_cells = cells - rest_cells;

    // The same commands over SSH through the restricted shell; anonymous cannot log in.
    let sshd = Sshd::start(d.data_dir(), &["padmin", "azview", "azrep", "azop"]);
    for &caller in &CALLERS {
        let Some((user, pw)) = caller.user() else {
            let o = sshd.run("azother", "wrong-password", "lsivm");
            cells += 1;
            if o.code == 0 {
                wrong.push(format!("an unknown login got in: {o:?}"));
            }
            continue;
        };
        for (cmd, who) in &commands {
            let o = sshd.run(user, pw, cmd);
            cells += 1;
            let refused = o.stderr.contains("HSCL350B");
            if may(*who, caller) == refused {
                wrong.push(format!("{caller:?} ssh `{cmd}`: {o:?}"));
            }
        }
    }
    drop(accounts);
    println!(
        "authorization matrix: {} routes and {} commands x {} callers = {} cells checked ({rest_cells} REST, {socket_cells} Unix socket, {} SSH)",
        routes.len(),
        commands.len(),
        CALLERS.len(),
        cells,
        cells - rest_cells - socket_cells
    );
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// A keep-alive connection to the daemon's Unix socket made as Unix user `uid`: only this
/// thread's effective uid changes for the connect (SO_PEERCRED records it), then goes back.
fn connect_as(socket: &std::path::Path, uid: u32) -> std::os::unix::net::UnixStream {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: raw setresuid changes this thread's credentials only (glibc's wrapper
            // would change every thread's); the saved uid stays 0, so it can change back.
            unsafe {
                assert_eq!(
                    libc::syscall(libc::SYS_setresuid, -1i32, uid as i32, -1i32),
                    0
                )
            };
            let c = std::os::unix::net::UnixStream::connect(socket);
            // SAFETY: as above, back to root.
            unsafe { assert_eq!(libc::syscall(libc::SYS_setresuid, -1i32, 0i32, -1i32), 0) };
            c.unwrap()
        })
        .join()
        .unwrap()
    })
}

/// One HTTP/1.1 request on an open connection; the status code of the answer.
fn request_on(conn: &mut std::os::unix::net::UnixStream, path: &str) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    write!(conn, "GET {path} HTTP/1.1\r\nHost: ivm\r\n\r\n").unwrap();
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let mut len = 0;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    status.split(' ').nth(1).unwrap().parse().unwrap()
}

/// A role lowered takes effect on the next request of an open socket connection; a user
/// removed loses its open SSH session, its socket connection and every way to log in.
#[test]
fn role_changes_and_removals_reach_open_sessions() {
    let _l = lock();
    let accounts = Accounts(vec!["padmin", "azgone"]);
    let d = Daemon::start(CONFIG);
    d.set_password("padmin", PASSWORD);
    make_user(&d, "azgone", "View/Modify", "azgone-pass-1");
    let sshd = Sshd::start(d.data_dir(), &["padmin", "azgone"]);
    let uid: u32 = unix_account("azgone")
        .unwrap()
        .split(':')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("id");
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let o = sshd.run(
        "azgone",
        "azgone-pass-1",
        &format!("mkauthkeys -a '{}'", public.trim()),
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(sshd.run_with_key("azgone", &key, "lsivm").code, 0);

    // The socket connection stays open through a role change.
    let mut conn = connect_as(&d.data_dir().join("ivm.sock"), uid);
    assert_eq!(request_on(&mut conn, "/api/v1/users"), 200);
    d.ok(&["chuser", "-attr", "pgrp=view", "azgone"]);
    assert_eq!(
        request_on(&mut conn, "/api/v1/users"),
        403,
        "the lowered role, same connection"
    );
    assert_eq!(request_on(&mut conn, "/api/v1/partitions"), 200);

    // An SSH session open through the removal ends with it.
    let mut session = sshd.spawn(
        "azgone",
        "azgone-pass-1",
        &["-tt"],
        Some("lssyscfg -r sys -F state; while true; do read x; done"),
    );
    let mut out = session.stdout.take().unwrap();
    let mut first = [0u8; 9];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    assert_eq!(&first, b"Operating", "the session is up");
    let o = sshd.run("padmin", PASSWORD, "rmuser azgone; echo Rc=$?");
    assert_eq!(o.stdout, "Rc=0\n", "{o:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let ended = loop {
        if let Some(s) = session.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = session.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(ended.is_some(), "the open session outlived the removal");
    assert!(unix_account("azgone").is_none(), "the account is gone");
    assert_ne!(
        sshd.run_with_key("azgone", &key, "lsivm").code,
        0,
        "key login after removal"
    );
    assert_ne!(
        sshd.run("azgone", "azgone-pass-1", "lsivm").code,
        0,
        "password login after removal"
    );
    assert_eq!(
        request_on(&mut conn, "/api/v1/partitions"),
        401,
        "the open socket connection"
    );
    drop(accounts);
}

/// An open virtual terminal closes once its user may no longer use one: its role lowered to
/// View Only, or the user removed.
#[test]
fn an_open_console_closes_when_its_user_loses_the_right() {
    let _l = lock();
    let accounts = Accounts(vec!["padmin", "azcon"]);
    let d = Daemon::start(CONFIG);
    d.set_password("padmin", PASSWORD);
    make_user(&d, "azcon", "View/Modify", "azcon-pass-1");
    common::define_guest(&d, "lp1", "desired_procs=1,desired_mem=256");
    drop(common::boot(&d, "lp1", 2));
    let uid = unix_account("azcon")
        .unwrap()
        .split(':')
        .nth(2)
        .unwrap()
        .to_string();
    let mut vt = common::as_uid(&uid)
        .arg(common::ivm_bin())
        .args(["mkvt", "-id", "2"])
        .env("IVM_DATA_DIR", d.data_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The session is up once the guest answers through it.
    let mut stdin = vt.stdin.take().unwrap();
    let mut stdout = vt.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if seen.contains("AZCON-HERE-42") {
                let _ = tx.send(());
            }
        }
    });
    std::io::Write::write_all(&mut stdin, b"echo AZCON-HERE-$((21*2))\n").unwrap();
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("the guest answered on azcon's console");
    assert!(vt.try_wait().unwrap().is_none(), "the console is open");
    d.ok(&["chuser", "-attr", "pgrp=view", "azcon"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let closed = loop {
        if vt.try_wait().unwrap().is_some() {
            break true;
        }
        if std::time::Instant::now() > deadline {
            let _ = vt.kill();
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(closed, "the console stayed open for a View Only user");
    common::stop_now(&d, "lp1");
    drop(accounts);
}
