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
/// What sshd runs for every ivm user's session (`ForceCommand`): the restricted shell then
/// runs the client's command (`SSH_ORIGINAL_COMMAND`) or an interactive login.
pub const FORCED_COMMAND: &str = "ivm-session";
/// The command that gives padmin a root shell, as on IVM.
pub const OEM_SETUP_ENV: &str = "oem_setup_env";
/// Where the sudo rule for `oem_setup_env` goes.
pub const SUDOERS_FILE: &str = "/etc/sudoers.d/ivm-oem-setup-env";

const RC: &str = r#"# ivm's restricted shell (bash -r): read before the restrictions apply; owned by root.
PS1='$ '
# Prompts exactly as IVM's: no bracketed-paste sequences around them for expect-style clients.
bind 'set enable-bracketed-paste off' 2>/dev/null
command_not_found_handle() { printf 'rksh: %s: not found\n' "$1" >&2; return 127; }
/usr/ios/cli/ioscli() { ioscli "$@"; }
quit() { exit "$@"; }
# No variable the dynamic loader, the C library or the shell acts on may be set here (glibc's
# list of variables unsafe for privileged programs, and the session's own): `LD_PRELOAD=x wc`
# says "readonly variable" and the program never sees it.
readonly GCONV_PATH GETCONF_DIR GLIBC_TUNABLES HOSTALIASES LD_AUDIT LD_BIND_NOT LD_BIND_NOW \
    LD_DEBUG LD_DEBUG_OUTPUT LD_DYNAMIC_WEAK LD_HWCAP_MASK LD_LIBRARY_PATH LD_ORIGIN_PATH \
    LD_PRELOAD LD_PROFILE LD_PROFILE_OUTPUT LD_SHOW_AUXV LD_USE_LOAD_BIAS LD_ASSUME_KERNEL \
    LOCALDOMAIN LOCPATH MALLOC_TRACE MALLOC_CHECK_ NIS_PATH NLSPATH RESOLV_HOST_CONF RES_OPTIONS \
    TZDIR TMPDIR HOME USER LOGNAME IVM_DATA_DIR IVM_SANDBOX BASH_LOADABLES_PATH \
    EXECIGNORE GLOBIGNORE CDPATH
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

/// The sshd configuration for ivm users (a drop-in in `/etc/ssh/sshd_config.d/`): their shell
/// finds the daemon through `IVM_DATA_DIR`; their keys come only from ivm's store through
/// `exe authorized-keys` (run as root by sshd: it only reads the store), never from a file in
/// their home; and every kind of forwarding, tunnel, agent, X11 and user rc file is off, so an
/// ivm login is the restricted shell and nothing else. `exe` must be a root-owned path no
/// one else can write (sshd checks). The `Match` block ends the file, so the administrator's
/// own settings after the drop-in's `Include` apply to everyone as before (`Match all`).
/// `ForceCommand` sends every session, subsystems included (an `internal-sftp` the
/// administrator configured would otherwise bypass the shell), through the restricted shell.
pub fn sshd_drop_in(data_dir: &Path, exe: &Path) -> String {
    let group = ivm_host::accounts::IVM_GROUP;
    format!(
        "# ivm: written by `ivm sshd-config`; ivm users ({group}) reach only ivm's restricted shell.\n\
         Match Group {group}\n\
         \tSetEnv IVM_DATA_DIR={data}\n\
         \tAuthorizedKeysFile none\n\
         \tAuthorizedKeysCommand {exe} authorized-keys --data-dir {data} %u\n\
         \tAuthorizedKeysCommandUser root\n\
         \tDisableForwarding yes\n\
         \tAllowTcpForwarding no\n\
         \tAllowStreamLocalForwarding no\n\
         \tAllowAgentForwarding no\n\
         \tX11Forwarding no\n\
         \tPermitTunnel no\n\
         \tPermitListen none\n\
         \tPermitOpen none\n\
         \tGatewayPorts no\n\
         \tPermitUserRC no\n\
         \tForceCommand {force}\n\
         Match all\n",
        force = FORCED_COMMAND,
        data = data_dir.display(),
        exe = exe.display(),
    )
}
