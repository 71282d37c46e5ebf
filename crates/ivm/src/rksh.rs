//! ivm's restricted shell, the login shell of ivm users' Unix accounts: bash in restricted
//! mode whose PATH holds only the IVM commands, the filters and `hostname`
//! (`DATA_DIR/shell/bin`), with IVM's prompt `$ ` and "not found" message. Whatever the SSH
//! client sends runs there: `ssh padmin@host 'lssyscfg -r lpar -F name | grep x; echo Rc=$?'`.
//!
//! Nothing the user controls decides what runs: the environment is made anew (the home and
//! names from the passwd file, never from the variables sshd passed), and before bash starts
//! the session is put in the kernel's sandbox (see `sandbox`), where the kernel has Landlock.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ivm_server::shell::{FILTERS, FORCED_COMMAND, LOGIN_SHELL, SHELL_DIR};

use crate::filters;
use crate::sandbox;

/// The data directory: `IVM_DATA_DIR` when the SSH server sets it, else the default.
fn data_dir() -> PathBuf {
    std::env::var_os("IVM_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ivm_server::config::DEFAULT_DATA_DIR.into())
}

fn bash() -> &'static str {
    ["/usr/bin/bash", "/bin/bash"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/bin/bash")
}

/// What the session may execute: bash, this binary (every command and filter is a link to
/// it), the filters' real programs and `hostname`.
fn programs(exe: &Path) -> Vec<PathBuf> {
    let mut p = vec![PathBuf::from(bash()), exe.to_path_buf()];
    p.extend(
        FILTERS
            .iter()
            .filter_map(|f| filters::program(filters::real_name(f))),
    );
    p.extend(
        ["/usr/bin/hostname", "/bin/hostname"]
            .iter()
            .map(PathBuf::from)
            .find(|h| h.exists()),
    );
    p.into_iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect()
}

/// Whether this is padmin on a host where `oem_setup_env` gives padmin root through sudo:
/// `no_new_privs` would stop sudo, and a Landlock domain would follow padmin into the root
/// shell, so padmin's session keeps only the shell's own checks (its filters still get their
/// layer). padmin may become root there anyway.
fn padmin_with_root(user: &str) -> bool {
    user == ivm_model::PRIME_ADMIN && Path::new(ivm_server::shell::SUDOERS_FILE).exists()
}

/// Runs the shell: `ivm-rksh -c COMMAND` (what sshd runs for a command) or an interactive
/// login. Returns only when bash cannot be started.
pub fn run(args: &[String]) -> i32 {
    let dir = data_dir().join(SHELL_DIR);
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let Some(account) = ivm_server::host_user_name(uid)
        .and_then(|n| ivm_host::accounts::account(Path::new(ivm_server::config::HOST_ROOT), &n))
    else {
        eprintln!("rksh: user {uid} is not in the passwd file");
        return 1;
    };
    let home = account.home.clone();
    let exe = match std::env::current_exe().and_then(|e| e.canonicalize()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("rksh: cannot find the ivm binary: {e}");
            return 1;
        }
    };
    let sandbox = if padmin_with_root(&account.name) {
        sandbox::Enforced::Not
    } else {
        match sandbox::restrict_session(&home, &programs(&exe)) {
            Ok(s) => s,
            // Fail closed: a session whose sandbox could not be set up does not start.
            Err(e) => {
                eprintln!("rksh: {e}");
                return 1;
            }
        }
    };
    let mut cmd = Command::new(bash());
    cmd.env_clear()
        .env("PATH", dir.join("bin"))
        .env("HOME", &home)
        .env("TMPDIR", &home)
        .env("USER", &account.name)
        .env("LOGNAME", &account.name)
        .env("SHELL", dir.join(LOGIN_SHELL))
        .env("IVM_DATA_DIR", data_dir())
        .env("IVM_SANDBOX", sandbox.as_str())
        .env("LANG", "C.UTF-8")
        .current_dir(&home);
    for keep in ["TERM", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    // Under sshd's ForceCommand the client's command (or none: a login) is in the environment.
    let forced;
    let args = match args {
        [c, command] if c == "-c" && command == FORCED_COMMAND => {
            match std::env::var("SSH_ORIGINAL_COMMAND") {
                Ok(original) => {
                    forced = [c.clone(), original];
                    &forced[..]
                }
                Err(_) => &[],
            }
        }
        _ => args,
    };
    match args {
        [c, command, ..] if c == "-c" => {
            cmd.env("BASH_ENV", dir.join("rc")).args([
                "--noprofile",
                "--norc",
                "-r",
                "-c",
                command,
            ]);
        }
        [] => {
            // Not a login shell (argv0 without "-"): bash reads --rcfile only then. Long options first.
            cmd.arg0("rksh").args([
                "--noprofile",
                "--rcfile",
                &dir.join("rc").to_string_lossy(),
                "-r",
                "-i",
            ]);
        }
        _ => {
            eprintln!("rksh: usage: rksh [-c COMMAND]");
            return 2;
        }
    }
    let e = cmd.exec();
    eprintln!("rksh: cannot start {}: {e}", bash());
    126
}
