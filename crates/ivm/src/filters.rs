//! The filters of the restricted shell (`grep sed awk sort uniq head tail cut wc tr tee cat
//! echo`): each runs the system's program, with what would let it leave the shell taken away:
//! `sed` and `awk` sandboxed (no `e`, `w`, `system()`), `sort` without a compress program, and
//! no file written outside the user's home (`tee FILE`, `sort -o FILE`, `uniq IN OUT`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn program(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

/// Whether `file` (relative to the current directory) is inside `HOME`.
fn in_home(file: &str) -> bool {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return false;
    };
    let Ok(home) = home.canonicalize() else {
        return false;
    };
    let path = std::env::current_dir().unwrap_or_default().join(file);
    // The file may not exist yet: its directory must be in the home (and it must name a
    // file: a path ending in ".." has no file name).
    let dir = path.parent().unwrap_or(Path::new("/"));
    dir.canonicalize().is_ok_and(|d| d.starts_with(&home)) && path.file_name().is_some()
}

/// Refuses `file` unless it is inside the home directory.
fn writable(name: &str, file: &str) -> Result<(), i32> {
    if in_home(file) {
        Ok(())
    } else {
        Err(refuse(
            name,
            &format!("{file}: files are written only in your home directory"),
        ))
    }
}

fn refuse(name: &str, why: &str) -> i32 {
    eprintln!("rksh: {name}: {why}");
    1
}

/// Runs filter `name` with `args`; returns only on a refusal or when it cannot start.
pub fn run(name: &str, args: &[String]) -> i32 {
    let mut argv: Vec<String> = args.to_vec();
    let real = match name {
        "awk" => {
            // gawk's sandbox has no system(), no output to files or pipes.
            argv.insert(0, "--sandbox".into());
            "gawk"
        }
        "sed" => {
            argv.insert(0, "--sandbox".into());
            "sed"
        }
        "sort" => {
            let mut it = args.iter();
            while let Some(a) = it.next() {
                if a.starts_with("--compress-program") {
                    return refuse(name, "--compress-program is not allowed here");
                }
                let out = if a == "-o" || a == "--output" {
                    it.next().cloned()
                } else if let Some(f) = a.strip_prefix("--output=") {
                    Some(f.to_string())
                } else {
                    a.strip_prefix("-o")
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                };
                if let Some(f) = out {
                    if let Err(code) = writable(name, &f) {
                        return code;
                    }
                }
            }
            "sort"
        }
        "tee" => {
            for f in args.iter().filter(|a| !a.starts_with('-')) {
                if let Err(code) = writable(name, f) {
                    return code;
                }
            }
            "tee"
        }
        "uniq" => {
            let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
            if let Some(out) = files.get(1) {
                if let Err(code) = writable(name, out) {
                    return code;
                }
            }
            "uniq"
        }
        other => other,
    };
    let Some(path) = program(real) else {
        return refuse(name, &format!("{real} is not installed on this host"));
    };
    let e = Command::new(&path).arg0(name).args(&argv).exec();
    refuse(name, &format!("cannot run {}: {e}", path.display()))
}
