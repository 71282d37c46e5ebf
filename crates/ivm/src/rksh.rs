//! ivm's restricted shell, the login shell of ivm users' Unix accounts: bash in restricted
//! mode whose PATH holds only the IVM commands, the filters and `hostname`
//! (`DATA_DIR/shell/bin`), with IVM's prompt `$ ` and "not found" message. Whatever the SSH
//! client sends runs there: `ssh padmin@host 'lssyscfg -r lpar -F name | grep x; echo Rc=$?'`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ivm_server::shell::{LOGIN_SHELL, SHELL_DIR};

/// The data directory: `IVM_DATA_DIR` when the SSH server sets it, else the default.
fn data_dir() -> PathBuf {
    std::env::var_os("IVM_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ivm_server::config::DEFAULT_DATA_DIR.into())
}

/// Runs the shell: `ivm-rksh -c COMMAND` (what sshd runs for a command) or an interactive
/// login. Returns only when bash cannot be started.
pub fn run(args: &[String]) -> i32 {
    let dir = data_dir().join(SHELL_DIR);
    let bash = ["/usr/bin/bash", "/bin/bash"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/bin/bash");
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    let mut cmd = Command::new(bash);
    cmd.env_clear()
        .env("PATH", dir.join("bin"))
        .env("HOME", &home)
        .env("SHELL", dir.join(LOGIN_SHELL))
        .env("IVM_DATA_DIR", data_dir())
        .env("LANG", "C.UTF-8")
        .current_dir(&home);
    for keep in [
        "USER",
        "LOGNAME",
        "TERM",
        "SSH_CONNECTION",
        "SSH_CLIENT",
        "SSH_TTY",
    ] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
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
    eprintln!("rksh: cannot start {bash}: {e}");
    126
}
