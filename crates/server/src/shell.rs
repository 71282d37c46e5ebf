//! What ivm's restricted shell (the login shell of ivm users' Unix accounts) runs with, kept in
//! the data directory and owned by root: `shell/ivm-rksh` (the login shell, this binary),
//! `shell/bin/` (the only commands the shell finds: the IVM commands, `ioscli`, the filters,
//! `hostname`, `oem_setup_env`) and `shell/rc` (the prompt, IVM's "not found" message and the
//! `/usr/ios/cli/ioscli` prefix). The shell itself is bash in restricted mode: no `/` in
//! command names, no `cd`, no output redirection to files, PATH fixed.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// The shell's directory in the data directory.
pub const SHELL_DIR: &str = "shell";
/// The login shell's name (a link to the ivm binary, which runs bash restricted).
pub const LOGIN_SHELL: &str = "ivm-rksh";
/// The filters clients pipe IVM output through; each runs through ivm's checks first.
pub const FILTERS: &[&str] = &[
    "grep", "sed", "awk", "sort", "uniq", "head", "tail", "cut", "wc", "tr", "tee", "cat", "echo",
];
/// The command that gives padmin a root shell, as on IVM.
pub const OEM_SETUP_ENV: &str = "oem_setup_env";
/// Where the sudo rule for `oem_setup_env` goes.
const SUDOERS_FILE: &str = "/etc/sudoers.d/ivm-oem-setup-env";

const RC: &str = r#"# ivm's restricted shell (bash -r): read before the restrictions apply; owned by root.
PS1='$ '
# Prompts exactly as IVM's: no bracketed-paste sequences around them for expect-style clients.
bind 'set enable-bracketed-paste off' 2>/dev/null
command_not_found_handle() { printf 'rksh: %s: not found\n' "$1" >&2; return 127; }
/usr/ios/cli/ioscli() { ioscli "$@"; }
quit() { exit "$@"; }
"#;

fn dir(path: &Path) -> io::Result<()> {
    fs::create_dir_all(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

fn link(target: &Path, at: &Path) -> io::Result<()> {
    match fs::remove_file(at) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    symlink(target, at)
}

/// The first of `candidates` that exists.
fn found(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Lays out the shell's directory for the binary `exe` and its `commands`; returns the login
/// shell's path. With `oem_setup_env`, padmin (alone) may become root through sudo.
pub fn prepare(
    data_dir: &Path,
    exe: &Path,
    commands: &[String],
    oem_setup_env: bool,
) -> io::Result<PathBuf> {
    let root = data_dir.join(SHELL_DIR);
    dir(&root)?;
    let bin = root.join("bin");
    // Made anew each start, so a command removed from ivm is gone from the shell too.
    if bin.exists() {
        fs::remove_dir_all(&bin)?;
    }
    dir(&bin)?;
    let shell = root.join(LOGIN_SHELL);
    link(exe, &shell)?;
    for c in commands
        .iter()
        .map(String::as_str)
        // `passwd` is IVM's in the shell only: on the host's PATH it would hide the system's.
        .chain(["ioscli", "passwd", OEM_SETUP_ENV])
        .chain(FILTERS.iter().copied())
    {
        link(exe, &bin.join(c))?;
    }
    if let Some(h) = found(&["/usr/bin/hostname", "/bin/hostname"]) {
        link(&h, &bin.join("hostname"))?;
    }
    let rc = root.join("rc");
    fs::write(&rc, RC)?;
    fs::set_permissions(&rc, fs::Permissions::from_mode(0o644))?;
    set_oem_setup_env(oem_setup_env);
    Ok(shell)
}

/// Writes (or removes) the sudo rule that lets padmin run a root login shell.
fn set_oem_setup_env(enabled: bool) {
    let Some(bash) = found(&["/usr/bin/bash", "/bin/bash"]) else {
        return;
    };
    if !enabled {
        let _ = fs::remove_file(SUDOERS_FILE);
        return;
    }
    if !Path::new("/etc/sudoers.d").is_dir() {
        tracing::warn!("oem_setup_env needs sudo (/etc/sudoers.d is missing)");
        return;
    }
    let rule = format!(
        "# ivm: oem_setup_env gives padmin a root shell, as on IVM (oem_setup_env = false in ivm.toml turns it off).\npadmin ALL=(root) NOPASSWD: {} -l\n",
        bash.display()
    );
    let tmp = Path::new(SUDOERS_FILE).with_extension("new");
    let written = fs::write(&tmp, rule)
        .and_then(|()| fs::set_permissions(&tmp, fs::Permissions::from_mode(0o440)))
        .and_then(|()| fs::rename(&tmp, SUDOERS_FILE));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write {SUDOERS_FILE}");
    }
}
