//! The filters of the restricted shell (`grep sed awk sort uniq head tail cut wc tr tee cat
//! echo`): each runs the system's program with only the options listed here (an allow-list:
//! an option GNU would take by a unique prefix, like sort's `--compress-prog`, is simply not
//! on it), file operands only inside the user's home (from the passwd file, never `$HOME`), a
//! clean environment, `sed` and `gawk` in their sandbox modes, and one more Landlock layer that
//! lets the process execute nothing but its own program.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sandbox;

/// The system program behind a filter name.
pub fn real_name(name: &str) -> &str {
    match name {
        "awk" => "gawk",
        other => other,
    }
}

/// Where the system has `name`.
pub fn program(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

/// What a filter's operands are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operands {
    /// Files read (and, for `tee`, written; for `uniq`, the second is written).
    Files,
    /// The first is a program or pattern (unless an option gave it), the rest files.
    ScriptThenFiles,
    /// Text, never files (`tr` sets, `echo` words).
    Text,
}

/// One filter's allow-list: single-letter flags, letters that take a value, long options
/// (exact names; `=` marks one that takes a value), and which options name a file.
struct Spec {
    flags: &'static str,
    valued: &'static str,
    long: &'static [&'static str],
    /// Options whose value is a file (read, or written for `-o`/`--output`).
    file_opts: &'static [&'static str],
    /// Options that give the script or pattern, so the first operand is a file.
    script_opts: &'static [&'static str],
    operands: Operands,
    /// Whether `-NUM` (head/tail's old form) is an option.
    numeric: bool,
}

fn spec(name: &str) -> Option<Spec> {
    let s = match name {
        "grep" => Spec {
            flags: "ivcnwxEFGoqshHlLz",
            valued: "emABCf",
            long: &[
                "ignore-case",
                "invert-match",
                "count",
                "line-number",
                "word-regexp",
                "line-regexp",
                "extended-regexp",
                "fixed-strings",
                "basic-regexp",
                "only-matching",
                "quiet",
                "silent",
                "no-messages",
                "with-filename",
                "no-filename",
                "files-with-matches",
                "files-without-match",
                "null-data",
                "regexp=",
                "max-count=",
                "after-context=",
                "before-context=",
                "context=",
                "file=",
                "color=never",
                "colour=never",
            ],
            file_opts: &["f", "file"],
            script_opts: &["e", "f", "regexp", "file"],
            operands: Operands::ScriptThenFiles,
            numeric: false,
        },
        "sed" => Spec {
            flags: "nErsuz",
            valued: "ef",
            long: &[
                "quiet",
                "silent",
                "regexp-extended",
                "separate",
                "unbuffered",
                "null-data",
                "posix",
                "expression=",
                "file=",
            ],
            file_opts: &["f", "file"],
            script_opts: &["e", "f", "expression", "file"],
            operands: Operands::ScriptThenFiles,
            numeric: false,
        },
        "awk" => Spec {
            flags: "",
            valued: "Fvf",
            long: &["field-separator=", "assign=", "file="],
            file_opts: &["f", "file"],
            script_opts: &["f", "file"],
            operands: Operands::ScriptThenFiles,
            numeric: false,
        },
        "sort" => Spec {
            flags: "bdfgiMhnRrVcCsuz",
            valued: "ktoS",
            long: &[
                "ignore-leading-blanks",
                "dictionary-order",
                "ignore-case",
                "general-numeric-sort",
                "month-sort",
                "human-numeric-sort",
                "numeric-sort",
                "random-sort",
                "reverse",
                "version-sort",
                "check",
                "stable",
                "unique",
                "zero-terminated",
                "key=",
                "field-separator=",
                "output=",
                "buffer-size=",
            ],
            file_opts: &["o", "output"],
            script_opts: &[],
            operands: Operands::Files,
            numeric: false,
        },
        "uniq" => Spec {
            flags: "cdDuiz",
            valued: "fsw",
            long: &[
                "count",
                "repeated",
                "unique",
                "ignore-case",
                "zero-terminated",
                "skip-fields=",
                "skip-chars=",
                "check-chars=",
            ],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Files,
            numeric: false,
        },
        "head" | "tail" => Spec {
            flags: "qvz",
            valued: "nc",
            long: &[
                "quiet",
                "silent",
                "verbose",
                "zero-terminated",
                "lines=",
                "bytes=",
            ],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Files,
            numeric: true,
        },
        "cut" => Spec {
            flags: "snz",
            valued: "bcfd",
            long: &[
                "only-delimited",
                "complement",
                "zero-terminated",
                "bytes=",
                "characters=",
                "fields=",
                "delimiter=",
                "output-delimiter=",
            ],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Files,
            numeric: false,
        },
        "wc" => Spec {
            flags: "lwcmL",
            valued: "",
            long: &["lines", "words", "bytes", "chars", "max-line-length"],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Files,
            numeric: false,
        },
        "tr" => Spec {
            flags: "cCdst",
            valued: "",
            long: &["complement", "delete", "squeeze-repeats", "truncate-set1"],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Text,
            numeric: false,
        },
        "tee" => Spec {
            flags: "aip",
            valued: "",
            long: &["append", "ignore-interrupts"],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Files,
            numeric: false,
        },
        "cat" => Spec {
            flags: "AbeEnstTuv",
            valued: "",
            long: &[
                "show-all",
                "number-nonblank",
                "show-ends",
                "number",
                "squeeze-blank",
                "show-tabs",
                "show-nonprinting",
            ],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Files,
            numeric: false,
        },
        "echo" => Spec {
            flags: "neE",
            valued: "",
            long: &[],
            file_opts: &[],
            script_opts: &[],
            operands: Operands::Text,
            numeric: false,
        },
        _ => return None,
    };
    Some(s)
}

/// The user's home, from the passwd file (a user can set `$HOME` in the shell).
fn home() -> Option<PathBuf> {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let name = ivm_server::host_user_name(uid)?;
    ivm_host::accounts::account(Path::new(ivm_server::config::HOST_ROOT), &name).map(|a| a.home)
}

/// Whether `file` (relative to the current directory) is inside `home`, every link followed.
fn in_home(home: &Path, file: &str) -> bool {
    let Ok(home) = home.canonicalize() else {
        return false;
    };
    let path = std::env::current_dir().unwrap_or_default().join(file);
    if let Ok(p) = path.canonicalize() {
        return p.starts_with(&home);
    }
    // A file to be made: its directory must be in the home, and it must name a file.
    let dir = path.parent().unwrap_or(Path::new("/"));
    dir.canonicalize().is_ok_and(|d| d.starts_with(&home)) && path.file_name().is_some()
}

/// Checks `args` against the filter's allow-list and returns the file operands and option
/// values that name files; `Err` says what is not allowed.
fn check(name: &str, spec: &Spec, args: &[String]) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let mut operands = Vec::new();
    let mut script_given = false;
    let mut it = args.iter();
    let mut options_done = false;
    let note_value = |opt: &str, value: &str, files: &mut Vec<String>, script: &mut bool| {
        if spec.file_opts.contains(&opt) {
            files.push(value.to_string());
        }
        if spec.script_opts.contains(&opt) {
            *script = true;
        }
    };
    while let Some(a) = it.next() {
        if options_done || a == "-" || !a.starts_with('-') {
            operands.push(a.clone());
            continue;
        }
        if a == "--" {
            options_done = true;
            continue;
        }
        if a == "--help" || a == "--version" {
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (opt, value) = match long.split_once('=') {
                Some((o, v)) => (o, Some(v)),
                None => (long, None),
            };
            let takes_value = spec.long.contains(&format!("{opt}=").as_str());
            let exact = spec.long.contains(&long);
            let value = match (takes_value, value, exact) {
                (_, _, true) => None,
                (true, Some(v), _) => Some(v.to_string()),
                (true, None, _) => Some(
                    it.next()
                        .cloned()
                        .ok_or_else(|| format!("--{opt} needs a value"))?,
                ),
                (false, _, _) => {
                    return Err(format!("option --{opt} is not allowed here"));
                }
            };
            if let Some(v) = value {
                note_value(opt, &v, &mut files, &mut script_given);
            }
            continue;
        }
        let letters = &a[1..];
        if spec.numeric && letters.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        for (i, c) in letters.char_indices() {
            if spec.flags.contains(c) {
                continue;
            }
            if spec.valued.contains(c) {
                let rest = &letters[i + c.len_utf8()..];
                let v = if rest.is_empty() {
                    it.next()
                        .cloned()
                        .ok_or_else(|| format!("option -{c} needs a value"))?
                } else {
                    rest.to_string()
                };
                note_value(&c.to_string(), &v, &mut files, &mut script_given);
                break;
            }
            return Err(format!("option -{c} is not allowed here"));
        }
    }
    match spec.operands {
        Operands::Text => {}
        Operands::Files => files.extend(operands),
        Operands::ScriptThenFiles => {
            files.extend(operands.into_iter().skip(usize::from(!script_given)));
        }
    }
    // awk takes `var=value` operands as assignments, not files.
    if name == "awk" {
        files.retain(|f| !f.split_once('=').is_some_and(|(v, _)| is_identifier(v)));
    }
    files.retain(|f| f != "-");
    Ok(files)
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn refuse(name: &str, why: &str) -> i32 {
    eprintln!("rksh: {name}: {why}");
    1
}

/// Runs filter `name` with `args`; returns only on a refusal or when it cannot start.
pub fn run(name: &str, args: &[String]) -> i32 {
    let Some(spec) = spec(name) else {
        return refuse(name, "not a filter of this shell");
    };
    let Some(home) = home() else {
        return refuse(
            name,
            "your account has no home directory in the passwd file",
        );
    };
    let files = match check(name, &spec, args) {
        Ok(f) => f,
        Err(why) => return refuse(name, &why),
    };
    for f in &files {
        if !in_home(&home, f) {
            return refuse(
                name,
                &format!("{f}: files are read and written only in your home directory"),
            );
        }
    }
    let mut argv: Vec<String> = args.to_vec();
    if name == "awk" || name == "sed" {
        // gawk's sandbox: no system(), no redirection, no extensions; sed's: no e, r, w.
        argv.insert(0, "--sandbox".into());
    }
    let real = real_name(name);
    let Some(path) = program(real).and_then(|p| p.canonicalize().ok()) else {
        return refuse(name, &format!("{real} is not installed on this host"));
    };
    if let Err(e) = sandbox::restrict_to_program(&path, &home) {
        return refuse(name, &e);
    }
    let e = Command::new(&path)
        .arg0(name)
        .args(&argv)
        .env_clear()
        .env("LANG", "C.UTF-8")
        .env("HOME", &home)
        // sort spills to temporary files: in the home, the one place the session may write.
        .env("TMPDIR", &home)
        .exec();
    refuse(name, &format!("cannot run {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(name: &str, args: &[&str]) -> Result<Vec<String>, String> {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        check(name, &spec(name).unwrap(), &a)
    }

    #[test]
    fn only_listed_options_pass_and_file_operands_are_found() {
        assert!(files("sort", &["--compress-prog=/bin/sh"]).is_err());
        assert!(files("sort", &["--co=sh"]).is_err());
        assert!(files("sort", &["-T", "/tmp"]).is_err());
        assert!(files("wc", &["--files0-from=/etc/shadow"]).is_err());
        assert!(files("sed", &["-i", "s/a/b/", "f"]).is_err());
        assert!(files("awk", &["-l", "x"]).is_err());
        assert!(files("awk", &["--load=x"]).is_err());
        assert_eq!(
            files("sort", &["-rn", "-k2", "-o", "out", "in"]).unwrap(),
            ["out", "in"]
        );
        assert_eq!(files("sort", &["--output=o"]).unwrap(), ["o"]);
        assert_eq!(files("grep", &["-i", "/dev/loop", "f"]).unwrap(), ["f"]);
        assert_eq!(
            files("grep", &["-e", "x", "-f", "/etc/shadow", "g"]).unwrap(),
            ["/etc/shadow", "g"]
        );
        assert_eq!(
            files("awk", &["-F,", "{print $1}", "v=1", "f"]).unwrap(),
            ["f"]
        );
        assert_eq!(
            files("head", &["-5", "-n", "3"]).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            files("tr", &["a-z", "/etc/x"]).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(files("uniq", &["-c", "a", "b"]).unwrap(), ["a", "b"]);
        assert_eq!(files("tee", &["-a", "--", "-x"]).unwrap(), ["-x"]);
        assert_eq!(files("cut", &["-d,", "-f1"]).unwrap(), Vec::<String>::new());
    }
}
