//! The kernel's wall around an ivm user's login session (Landlock, with `no_new_privs`): what
//! holds when a filter has an option nobody thought of. The session may execute only the
//! shell's own programs, write only in the user's home (and the terminal), make no TCP
//! connection, reach no abstract socket and signal no process outside it. Each filter adds a
//! layer that lets it execute only its own program (so nothing it starts can run at all) and
//! read files only in the home and the system's own directories.

use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// The newest Landlock ABI these rules were written and tested for; older kernels enforce
/// what they have (best effort), newer ones no more than this.
const ABI_TESTED: ABI = ABI::V7;

/// How far the kernel enforced a ruleset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforced {
    /// Every right asked for.
    Fully,
    /// Only what this kernel's Landlock has.
    Partially,
    /// The kernel has no Landlock: the shell's own checks are all that hold.
    Not,
}

impl Enforced {
    /// The word the session shows in `IVM_SANDBOX`.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforced::Fully => "landlock",
            Enforced::Partially => "landlock-partial",
            Enforced::Not => "none",
        }
    }
}

fn status(s: RulesetStatus) -> Enforced {
    match s {
        RulesetStatus::FullyEnforced => Enforced::Fully,
        RulesetStatus::PartiallyEnforced => Enforced::Partially,
        RulesetStatus::NotEnforced => Enforced::Not,
    }
}

/// The ELF interpreter of this process (the kernel opens it for every dynamic program, and
/// Landlock checks that open as an execution).
fn interpreter() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            let name = p.rsplit('/').next().unwrap_or("");
            name.starts_with("ld-linux") || name.starts_with("ld-musl") || name == "ld.so.1"
        })
        .map(PathBuf::from)
}

fn rule(path: &Path, access: BitFlags<AccessFs>) -> Option<PathBeneath<PathFd>> {
    // A path the host lacks (no /dev/tty in a container) is simply not granted.
    PathFd::new(path)
        .ok()
        .map(|fd| PathBeneath::new(fd, access))
}

fn rules_error(e: impl std::fmt::Display) -> String {
    format!("cannot set up the shell's sandbox: {e}")
}

/// Restricts this process and all it starts to the login session's rights: execute only
/// `programs` (and the ELF interpreter), write only beneath `home` and the terminal devices,
/// read what the user's permissions allow, no TCP, no abstract Unix sockets or signals
/// outside the session.
pub fn restrict_session(home: &Path, programs: &[PathBuf]) -> Result<Enforced, String> {
    let abi = ABI_TESTED;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let all = AccessFs::from_all(abi);
    let in_home = all & !BitFlags::from(AccessFs::Execute);
    let terminal = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev;
    let mut rules: Vec<PathBeneath<PathFd>> = Vec::new();
    rules.extend(rule(Path::new("/"), read));
    rules.extend(rule(home, in_home));
    for dev in ["/dev/null", "/dev/tty", "/dev/pts", "/dev/ptmx"] {
        rules.extend(rule(Path::new(dev), terminal));
    }
    for p in programs.iter().cloned().chain(interpreter()) {
        rules.extend(rule(&p, AccessFs::Execute | AccessFs::ReadFile));
    }
    let created = Ruleset::default()
        .handle_access(all)
        .map_err(rules_error)?
        .handle_access(AccessNet::from_all(abi))
        .map_err(rules_error)?
        .scope(Scope::from_all(abi))
        .map_err(rules_error)?
        .create()
        .map_err(rules_error)?
        .add_rules(rules.into_iter().map(Ok::<_, landlock::RulesetError>))
        .map_err(rules_error)?;
    let s = created.restrict_self().map_err(rules_error)?;
    Ok(status(s.ruleset))
}

/// What a filter's program reads besides the home: the system's programs, libraries and
/// locales, and the loader's cache.
const SYSTEM_READS: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/etc/ld.so.cache",
    "/dev/null",
];

/// One more layer for a filter: from here on only `program` may be executed (the filter's
/// real program), so a compress program, an `e` command or a `system()` cannot start anything;
/// and files are read only in `home` and the system's own directories, so what a program can
/// be told to read by itself (gawk's `@include`) stays as confined as its file operands.
pub fn restrict_to_program(program: &Path, home: &Path) -> Result<Enforced, String> {
    let abi = ABI_TESTED;
    let exec = BitFlags::from(AccessFs::Execute) & AccessFs::from_all(abi);
    let read = BitFlags::from(AccessFs::ReadFile);
    let rules = std::iter::once(program.to_path_buf())
        .chain(interpreter())
        .filter_map(|p| rule(&p, exec | read))
        .chain(rule(home, read))
        .chain(SYSTEM_READS.iter().filter_map(|p| rule(Path::new(p), read)));
    let s = Ruleset::default()
        .handle_access(exec | read)
        .map_err(rules_error)?
        .create()
        .map_err(rules_error)?
        .add_rules(rules.map(Ok::<_, landlock::RulesetError>))
        .map_err(rules_error)?
        .restrict_self()
        .map_err(rules_error)?;
    Ok(status(s.ruleset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The wall itself, with no shell in front of it: in a thread restricted as a login
    /// session is, only the listed program runs, files are made only in the home, and no TCP
    /// connection opens, even to a listener on loopback.
    #[test]
    fn a_restricted_session_executes_writes_and_connects_only_as_allowed() {
        let home = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (home_p, outside_p) = (home.path().to_path_buf(), outside.path().to_path_buf());
        let result = std::thread::spawn(move || {
            let allowed = PathBuf::from("/usr/bin/true").canonicalize().unwrap();
            let s = restrict_session(&home_p, std::slice::from_ref(&allowed)).unwrap();
            let runs = |p: &str| Command::new(p).status().is_ok_and(|s| s.success());
            (
                s,
                runs("/usr/bin/true"),
                runs("/usr/bin/id"),
                runs("/bin/sh"),
                std::fs::write(home_p.join("f"), "x").is_ok(),
                std::fs::write(outside_p.join("f"), "x").is_ok(),
                std::fs::read_to_string("/etc/hostname").is_ok(),
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            )
        })
        .join()
        .unwrap();
        assert_eq!(result.0, Enforced::Fully, "this kernel has Landlock ABI 7");
        assert_eq!(
            result,
            (
                Enforced::Fully,
                true,
                false,
                false,
                true,
                false,
                true,
                false
            ),
            "(status, true runs, id runs, sh runs, home write, outside write, read, tcp)"
        );
        // The test thread's neighbours were never restricted.
        assert!(std::fs::write(outside.path().join("g"), "x").is_ok());
    }

    /// A filter's layer: its own program only, so nothing it would start can run.
    #[test]
    fn a_filter_layer_runs_only_its_program() {
        let home = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("in"), "b\na\n").unwrap();
        std::fs::write(outside.path().join("out"), "b\na\n").unwrap();
        let (h, o) = (home.path().to_path_buf(), outside.path().to_path_buf());
        let r = std::thread::spawn(move || {
            let sort = PathBuf::from("/usr/bin/sort").canonicalize().unwrap();
            restrict_to_program(&sort, &h).unwrap();
            let ran = |p: &str, a: &[&str]| {
                Command::new(p)
                    .args(a)
                    .output()
                    .is_ok_and(|o| o.status.success())
            };
            (
                ran("/usr/bin/sort", &[h.join("in").to_str().unwrap()]),
                ran("/usr/bin/sort", &[o.join("out").to_str().unwrap()]),
                ran("/bin/sh", &["-c", "true"]),
            )
        })
        .join()
        .unwrap();
        assert_eq!(
            r,
            (true, false, false),
            "(reads the home, reads elsewhere, runs sh)"
        );
    }
}
