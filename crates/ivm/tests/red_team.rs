//! The red team: ways out of the restricted shell, each a named case over the real sshd.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::sshd::{make_user, output, unix_account, Accounts, Sshd, CONFIG, PASSWORD};
use common::{lock, Daemon};

/// The ssh client options every sftp and scp attempt uses: a fresh host key, password only.
const CLIENT_OPTS: [&str; 8] = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "PubkeyAuthentication=no",
    "-o",
    "LogLevel=ERROR",
];

/// What an attack would leave if it worked: a file outside the home, a program's output, or
/// the content of a file outside the home.
const MARK: &str = "/tmp/ivm-rt-mark";
const SECRET: &str = "/tmp/ivm-rt-secret";
const SECRET_TEXT: &str = "SECRET-OUTSIDE-THE-HOME";

/// Runs one named attack as `user` and says whether it left no trace.
fn attack_fails(sshd: &Sshd, user: &str, password: &str, cmd: &str) -> Result<(), String> {
    let _ = std::fs::remove_file(MARK);
    let o = sshd.run(user, password, cmd);
    if std::env::var_os("IVM_RT_SHOW").is_some() {
        eprintln!("--- {cmd}\n{o:?}");
    }
    let trace = if Path::new(MARK).exists() {
        Some("made a file outside the home")
    } else if o.stdout.contains("uid=") || o.stderr.contains("uid=") {
        Some("ran a program outside the shell")
    } else if [&o.stdout, &o.stderr]
        .iter()
        .any(|out| out.contains(SECRET_TEXT) || out.contains("root:x:0"))
    {
        Some("read a file outside the home")
    } else {
        None
    };
    match trace {
        Some(t) => Err(format!("{t}: {cmd}: {o:?}")),
        None => Ok(()),
    }
}

/// A shared object whose constructor leaves the mark: what `LD_PRELOAD` or `LD_AUDIT` would
/// load if the shell let them through (the user could have written it to the home).
fn evil_library(home: &Path, owner: u32) -> std::path::PathBuf {
    let src = home.join("evil.c");
    std::fs::write(
        &src,
        format!(
            "#include <fcntl.h>\n#include <unistd.h>\n\
             __attribute__((constructor)) static void f(void) {{ int fd = open(\"{MARK}\", O_CREAT | O_WRONLY, 0644); if (fd >= 0) write(fd, \"x\", 1); }}\n\
             unsigned int la_version(unsigned int v) {{ f(); return v; }}\n"
        ),
    )
    .unwrap();
    let so = home.join("evil.so");
    let out = Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(out.status.success(), "{out:?}");
    std::os::unix::fs::chown(&so, Some(owner), None).unwrap();
    so
}

/// A View Only user over the real sshd: every way out of the restricted shell the trust
/// review listed (and the option prefixes GNU accepts) is a named case that must leave no
/// trace; the controls show the traces are seen when something does reach them.
#[test]
fn the_restricted_shell_holds_against_the_red_team() {
    let _l = lock();
    let accounts = Accounts(vec!["padmin", "rtview"]);
    let d = Daemon::start(CONFIG);
    d.set_password("padmin", PASSWORD);
    make_user(&d, "rtview", "View Only", "rtview-pass-1");
    let sshd = Sshd::start(d.data_dir(), &["padmin", "rtview"]);
    let _accounts = accounts;
    let (user, pw) = ("rtview", "rtview-pass-1");
    let line = unix_account(user).expect("rtview's login account");
    let f: Vec<&str> = line.split(':').collect();
    let (uid, home) = (f[2].parse::<u32>().unwrap(), Path::new(f[5]).to_path_buf());
    // Not valid awk: a program that includes it prints the line in its error message.
    std::fs::write(SECRET, format!("{SECRET_TEXT} ((\n")).unwrap();
    let so = evil_library(&home, uid);

    // The session runs in the kernel's sandbox where the kernel has Landlock.
    let o = sshd.run(user, pw, "echo $IVM_SANDBOX");
    let want = if landlock_abi() > 0 {
        "landlock"
    } else {
        "none"
    };
    assert_eq!(o.stdout.trim(), want, "{o:?}");
    println!("defence on this machine: {}", o.stdout.trim());

    // Controls: what the home allows works, and the traces are seen.
    let o = sshd.run(user, pw, "echo ok | tee ivm-rt-ok; cat ivm-rt-ok");
    assert_eq!(o.stdout, "ok\nok\n", "{o:?}");
    assert!(attack_fails(&sshd, user, pw, "echo uid=0").is_err());

    let so = so.display().to_string();
    let mut cases: Vec<(String, String)> = vec![
        ("sort compress program (the report's escape)".into(),
         format!("{{ echo '/usr/bin/id >{MARK}'; printf '#%s\\n' {{1..200000}}; }} | sort -S 1K --compress-prog=/bin/sh | wc -l")),
        ("sort -T outside the home".into(), format!("echo 1 | sort -T /tmp -o {MARK}")),
        ("sort --files0-from".into(), format!("sort --files0-from={SECRET}")),
        ("wc --files0-from".into(), format!("wc --files0-from={SECRET}")),
        ("LD_PRELOAD".into(), format!("LD_PRELOAD={so} wc </dev/null")),
        ("LD_AUDIT".into(), format!("LD_AUDIT={so} wc </dev/null")),
        ("LD_LIBRARY_PATH".into(), format!("LD_LIBRARY_PATH={} wc </dev/null", home.display())),
        ("export LD_PRELOAD".into(), format!("export LD_PRELOAD={so}; cat </dev/null")),
        ("BASH_ENV".into(), format!("BASH_ENV={so} lsivm")),
        ("ENV".into(), "ENV=/etc/profile lsivm".into()),
        ("SHELLOPTS".into(), "SHELLOPTS=xtrace lsivm".into()),
        ("HOME moved".into(), format!("HOME=/tmp; echo x | tee {MARK}")),
        ("HOME for one command".into(), format!("HOME=/tmp tee {MARK} </dev/null")),
        ("PATH".into(), "PATH=/usr/bin:/bin id".into()),
        ("GCONV_PATH".into(), format!("GCONV_PATH={} iconv", home.display())),
        ("TMPDIR".into(), "TMPDIR=/tmp; echo 1 | sort -S 1K".to_string()),
        ("enable -f".into(), format!("enable -f {so} evil")),
        ("command -p".into(), "command -p id".into()),
        ("exec".into(), "exec /usr/bin/id".into()),
        ("builtin".into(), "builtin exec /usr/bin/id".into()),
        ("hash -p".into(), "hash -p /usr/bin/id lsivm; lsivm".into()),
        ("source".into(), format!("source {SECRET}")),
        (". with a path".into(), ". /etc/profile; id".into()),
        ("here-document".into(), format!("cat <<EOF >{MARK}\nx\nEOF")),
        ("process substitution".into(), "cat <(/usr/bin/id)".into()),
        ("process substitution out".into(), format!("echo x > >(tee {MARK})")),
        (">|".into(), format!("echo x >| {MARK}")),
        ("redirection".into(), format!("echo x >> {MARK}")),
        ("sed e".into(), "echo | sed 'e /usr/bin/id'".into()),
        ("sed w".into(), format!("echo x | sed 'w {MARK}'")),
        ("sed W".into(), format!("echo x | sed 'W {MARK}'")),
        ("sed r".into(), format!("echo | sed 'r {SECRET}'")),
        ("sed -i".into(), format!("sed -i s/x/y/ {SECRET}")),
        ("sed s///e".into(), "echo id | sed 's/.*/&/e'".into()),
        ("awk system".into(), "awk 'BEGIN{system(\"id\")}'".into()),
        ("awk command getline".into(), "awk 'BEGIN{\"id\" | getline x; print x}'".into()),
        ("awk file getline".into(), format!("awk 'BEGIN{{while ((getline l < \"{SECRET}\") > 0) print l}}'")),
        ("awk print >".into(), format!("awk 'BEGIN{{print \"x\" > \"{MARK}\"}}'")),
        ("awk print |".into(), "awk 'BEGIN{print \"id\" | \"sh\"}'".into()),
        ("awk @include".into(), format!("echo | awk '@include \"{SECRET}\"'")),
        ("awk @include /etc/passwd".into(), "echo | awk '@include \"/etc/passwd\"'".into()),
        ("awk -l".into(), format!("awk -l {so} 'BEGIN{{}}'")),
        ("awk -f outside the home".into(), format!("awk -f {SECRET}")),
        ("awk file operand outside the home".into(), format!("awk '{{print}}' {SECRET}")),
        ("grep -f /etc/shadow".into(), "grep -f /etc/shadow /etc/passwd".into()),
        ("grep -f outside the home".into(), format!("echo {SECRET_TEXT} | grep -f {SECRET}")),
        ("grep a file outside the home".into(), format!("grep -h . {SECRET}")),
        ("cat outside the home".into(), format!("cat {SECRET}")),
        ("tee output operand".into(), format!("echo x | tee {MARK}")),
        ("tee -a output operand".into(), format!("echo x | tee -a ivm-rt-ok {MARK}")),
        ("uniq output operand".into(), format!("echo x | tee in; uniq in {MARK}")),
        ("sort -o".into(), format!("echo x | sort -o {MARK}")),
        ("sort --output".into(), format!("echo x | sort --output={MARK}")),
        ("head outside the home".into(), format!("head {SECRET}")),
        ("ssh -T".into(), "id".into()),
    ];
    // Every prefix GNU sort accepts for --compress-program, with = and as a separate word.
    for n in 4..="--compress-program".len() {
        let p = &"--compress-program"[..n];
        cases.push((
            format!("sort {p}="),
            format!("printf '%s\\n' {{1..20000}} | sort -S 1K {p}=/bin/sh"),
        ));
        cases.push((
            format!("sort {p} PROG"),
            format!("printf '%s\\n' {{1..20000}} | sort -S 1K {p} /bin/sh"),
        ));
    }
    // Root never follows a symlink a user made in the home.
    let ssh_dir = home.join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let _ = std::fs::remove_file(ssh_dir.join("authorized_keys"));
    std::os::unix::fs::symlink("/etc/shadow", ssh_dir.join("authorized_keys")).unwrap();
    std::os::unix::fs::symlink(MARK, home.join("link-out")).unwrap();
    cases.push((
        "mkauthkeys -l through a symlink".into(),
        "mkauthkeys -l".into(),
    ));
    cases.push((
        "tee through a symlink".into(),
        "echo x | tee link-out".into(),
    ));
    let mut failed = Vec::new();
    for (name, cmd) in &cases {
        if let Err(e) = attack_fails(&sshd, user, pw, cmd) {
            failed.push(format!("{name}: {e}"));
        }
    }
    // mkauthkeys as root wrote nothing through the link either.
    assert!(std::fs::read_link(ssh_dir.join("authorized_keys")).is_ok());

    // SSH's own doors: forwarding, tunnels, sftp and scp.
    let mut ssh_cases = 0;
    let mut ssh_case = |name: &str, ok: bool, what: String| {
        ssh_cases += 1;
        if !ok {
            failed.push(format!("{name}: {what}"));
        }
    };
    let banner = |port: u16, socks: bool| -> bool {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        if socks {
            let _ = s.write_all(&[5, 1, 0]);
            let mut r = [0u8; 2];
            if s.read_exact(&mut r).is_err() {
                return false;
            }
            let p = sshd.port.to_be_bytes();
            let _ = s.write_all(&[5, 1, 0, 1, 127, 0, 0, 1, p[0], p[1]]);
            let mut r = [0u8; 10];
            if s.read_exact(&mut r).is_err() || r[1] != 0 {
                return false;
            }
        }
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).contains("SSH-")
    };
    for (flag, socks) in [("-L", false), ("-D", true)] {
        let local = common::free_port();
        let spec = if socks {
            format!("127.0.0.1:{local}")
        } else {
            format!("127.0.0.1:{local}:127.0.0.1:{}", sshd.port)
        };
        let mut child = sshd.forward(user, pw, &["-N", flag, &spec]);
        let listening = wait_listening(local, &mut child);
        let reached = listening && banner(local, socks);
        let _ = child.kill();
        let _ = child.wait();
        ssh_case(
            &format!("ssh -N {flag}"),
            listening && !reached,
            format!("listening {listening}, forwarded {reached}"),
        );
    }
    let remote = common::free_port();
    let mut child = sshd.forward(
        user,
        pw,
        &[
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            &format!("127.0.0.1:{remote}:127.0.0.1:{}", sshd.port),
        ],
    );
    let exited = wait_exit(&mut child, Duration::from_secs(20));
    let opened = std::net::TcpStream::connect(("127.0.0.1", remote)).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    ssh_case(
        "ssh -N -R",
        exited.is_some_and(|c| c != 0) && !opened,
        format!("exit {exited:?}, port open {opened}"),
    );
    let mut child = sshd.forward(user, pw, &["-W", &format!("127.0.0.1:{}", sshd.port)]);
    let exited = wait_exit(&mut child, Duration::from_secs(20));
    let mut out = String::new();
    if let Some(mut so) = child.stdout.take() {
        let _ = so.read_to_string(&mut out);
    }
    ssh_case(
        "ssh -W",
        exited.is_some_and(|c| c != 0) && !out.contains("SSH-"),
        format!("exit {exited:?}, {out:?}"),
    );
    let dest = tempfile::tempdir().unwrap();
    let got = dest.path().join("got");
    let o = output(
        Command::new("sshpass")
            .args(["-e", "sftp", "-b", "-", "-P", &sshd.port.to_string()])
            .args(CLIENT_OPTS)
            .arg(format!("{user}@127.0.0.1"))
            .env("SSHPASS", pw)
            .stdin(Stdio::piped()),
        &format!("get {SECRET} {}\nput {so} {MARK}\n", got.display()),
    );
    ssh_case(
        "sftp",
        o.code != 0 && !got.exists() && !Path::new(MARK).exists(),
        format!("{o:?}"),
    );
    for legacy in [false, true] {
        let mut args = vec!["-e".to_string(), "scp".into()];
        if legacy {
            args.push("-O".into());
        }
        args.extend(
            ["-P", &sshd.port.to_string()]
                .into_iter()
                .chain(CLIENT_OPTS)
                .map(String::from),
        );
        args.push(format!("{user}@127.0.0.1:{SECRET}"));
        args.push(got.display().to_string());
        let o = output(
            Command::new("sshpass")
                .args(&args)
                .env("SSHPASS", pw)
                .stdin(Stdio::piped()),
            "",
        );
        ssh_case(
            if legacy { "scp -O" } else { "scp" },
            o.code != 0 && !got.exists(),
            format!("{o:?}"),
        );
    }
    let _ = std::fs::remove_file(SECRET);
    let _ = std::fs::remove_file(MARK);
    let total = cases.len() + ssh_cases;
    println!(
        "red team: {total} named attacks, {} failed to be stopped",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "attacks that got through:\n{}",
        failed.join("\n")
    );
}

/// The kernel's Landlock ABI version (0: none), as `landlock_create_ruleset` reports it.
fn landlock_abi() -> i64 {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: with a null attribute and size 0 this call only returns the ABI version.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    v.max(0)
}

/// Waits until `port` listens on 127.0.0.1 (false when `child` exited first or time ran out).
fn wait_listening(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The exit code of `child` once it ends within `timeout`.
fn wait_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
