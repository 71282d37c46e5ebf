//! `ivm`: the daemon (`ivm serve`), its administration (`ivm passwd`, `ivm install-commands`) and
//! the IVM command set, reachable as `ivm lssyscfg ...`, `ioscli lssyscfg ...` or through a
//! symlink named after the command.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod filters;
mod rksh;
mod sandbox;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ivm_cli::IvmCommand;
use ivm_server::config::DEFAULT_DATA_DIR;
use ivm_server::DaemonConfig;

#[derive(Parser)]
#[command(multicall = true)]
enum Applet {
    /// Integrated Virtualization Manager for Linux/KVM.
    #[command(version)]
    Ivm(IvmArgs),
    /// The VIOS command prefix: `ioscli lssyscfg ...` runs `lssyscfg ...`.
    Ioscli {
        #[command(subcommand)]
        cmd: IvmCommand,
    },
    #[command(flatten)]
    Command(IvmCommand),
}

#[derive(clap::Args)]
struct IvmArgs {
    /// Data directory (database, socket, certificate); the commands find the daemon there.
    #[arg(long, global = true, env = "IVM_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    #[command(subcommand)]
    cmd: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Run the daemon: HTTPS (web console, REST API) and the Unix socket for the commands.
    Serve {
        /// HTTPS address.
        #[arg(long, default_value = "0.0.0.0:8443")]
        listen: SocketAddr,
        /// PEM certificate (default: a self-signed one generated in the data directory).
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// PEM private key for --cert.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
    },
    /// Set a user's password, read from standard input (creates padmin if needed).
    Passwd {
        /// The ivm user.
        #[arg(default_value = "padmin")]
        user: String,
    },
    /// Create symlinks named after the IVM commands in DIR, pointing to this binary.
    InstallCommands {
        /// Directory on the PATH of padmin, e.g. /usr/local/bin.
        dir: PathBuf,
    },
    /// Print the sshd configuration for ivm users (`/etc/ssh/sshd_config.d/ivm.conf`).
    SshdConfig {
        /// The ivm binary sshd runs for keys (root-owned, writable by root alone).
        #[arg(long)]
        exe: Option<PathBuf>,
    },
    /// Print an ivm user's SSH public keys (sshd's AuthorizedKeysCommand).
    AuthorizedKeys {
        /// The login name sshd asks about.
        user: String,
    },
    /// Print the REST API's OpenAPI document (the console's TypeScript types are generated from it).
    Openapi,
    #[command(flatten)]
    Command(IvmCommand),
}

fn data_dir_from_env() -> PathBuf {
    std::env::var_os("IVM_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| DEFAULT_DATA_DIR.into())
}

/// IVM writes `mkvt -id N`: a two-letter option with one dash, which clap reads as `--id`.
fn ivm_args() -> Vec<std::ffi::OsString> {
    std::env::args_os()
        .map(|a| if a == "-id" { "--id".into() } else { a })
        .collect()
}

/// An IVM command run under its own name: parsed by a parser of the IVM commands alone, since
/// building `Applet`'s, which holds them three times (as themselves, under `ioscli` and under
/// `ivm`), is most of a short command's own work.
fn ivm_command() -> IvmCommand {
    use clap::FromArgMatches;
    let parser = IvmCommand::augment_subcommands(clap::Command::new("ivm").multicall(true));
    let matches = parser.get_matches_from(ivm_args());
    IvmCommand::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `oem_setup_env`: padmin's root shell, as on IVM (through a sudo rule ivm writes).
fn oem_setup_env() -> i32 {
    use std::os::unix::process::CommandExt;
    // The real user, not $USER (the shell lets a user set that).
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let user = ivm_server::host_user_name(uid).unwrap_or_default();
    if user != ivm_model::PRIME_ADMIN {
        eprintln!("oem_setup_env: only padmin may use oem_setup_env");
        return 1;
    }
    let bash = if Path::new("/usr/bin/bash").exists() {
        "/usr/bin/bash"
    } else {
        "/bin/bash"
    };
    // The shell's PATH holds only its own commands.
    let e = std::process::Command::new("/usr/bin/sudo")
        .args(["-n", bash, "-l"])
        .exec();
    eprintln!("oem_setup_env: cannot run sudo: {e} (oem_setup_env needs sudo, and oem_setup_env = true in ivm.toml)");
    1
}

fn main() {
    // The restricted shell and its filters are this binary under other names.
    let args: Vec<String> = std::env::args().collect();
    let name = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    if name.starts_with('-') || name == ivm_server::shell::LOGIN_SHELL {
        std::process::exit(rksh::run(&args[1..]));
    }
    if ivm_server::shell::FILTERS.contains(&name.as_str()) {
        std::process::exit(filters::run(&name, &args[1..]));
    }
    if name == ivm_host::ssh::ASKPASS_NAME {
        // ssh's askpass program for a login to another ivm host (mkauthkeys --ip): the
        // password comes from the daemon in the environment, never from a file.
        match std::env::var(ivm_host::ssh::ASKPASS_SECRET) {
            Ok(secret) => {
                println!("{secret}");
                std::process::exit(0);
            }
            Err(_) => std::process::exit(1),
        }
    }
    if name == "passwd" {
        std::process::exit(ivm_cli::run_passwd(&args[1..], &data_dir_from_env()));
    }
    if name == ivm_server::shell::OEM_SETUP_ENV {
        std::process::exit(oem_setup_env());
    }
    if IvmCommand::has_subcommand(&name) {
        std::process::exit(ivm_cli::run(ivm_command(), &data_dir_from_env()));
    }
    let code = match Applet::parse_from(ivm_args()) {
        Applet::Command(cmd) | Applet::Ioscli { cmd } => ivm_cli::run(cmd, &data_dir_from_env()),
        Applet::Ivm(IvmArgs {
            data_dir,
            cmd: Top::Command(cmd),
        }) => ivm_cli::run(cmd, &data_dir),
        Applet::Ivm(IvmArgs { data_dir, cmd }) => match admin(data_dir, cmd) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("ivm: {e:#}");
                1
            }
        },
    };
    std::process::exit(code);
}

/// Keeps glibc's threshold for serving an allocation from its own mapping fixed at its
/// starting value (128 KiB). By default glibc raises it to the size of the largest mapped block
/// freed, so after the first password hash (Argon2: 19 MiB) every later one comes from the heap
/// and stays resident once freed: the idle daemon held 26 MB of anonymous memory instead of 6.
///
/// And one heap for all threads: glibc gives threads arenas of their own (up to eight per CPU),
/// each keeping the memory freed in it. The daemon's threads mostly wait, each thread's cache
/// of small blocks spares them the shared heap's lock, and with 1,000 partitions defined one
/// arena held 7.5 MB where the default held 9.3-10.2 MB after the same listings.
fn return_large_allocations() {
    // SAFETY: mallopt with documented parameters, before the daemon's threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn admin(data_dir: PathBuf, cmd: Top) -> anyhow::Result<()> {
    match cmd {
        Top::Serve { listen, cert, key } => {
            return_large_allocations();
            let log = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal());
            // Under systemd the journal stamps each line itself.
            if ivm_server::systemd::logs_to_journal() {
                log.without_time().init();
            } else {
                log.init();
            }
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(ivm_server::serve(DaemonConfig {
                data_dir,
                listen,
                cert,
                key,
                commands: IvmCommand::names(),
            }))
        }
        Top::Passwd { user } => passwd(&data_dir, &user),
        Top::InstallCommands { dir } => install_commands(&dir),
        Top::SshdConfig { exe } => {
            let exe = match exe {
                Some(e) => e,
                None => std::env::current_exe().context("cannot find the ivm binary")?,
            };
            print!("{}", ivm_server::shell::sshd_drop_in(&data_dir, &exe));
            Ok(())
        }
        Top::AuthorizedKeys { user } => authorized_keys(&data_dir, &user),
        Top::Openapi => {
            println!("{}", ivm_server::api::openapi_json());
            Ok(())
        }
        Top::Command(_) => unreachable!("commands are dispatched in main"),
    }
}

fn passwd(data_dir: &Path, user: &str) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("New password for {user}: ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    let (svc, _, _) = ivm_server::daemon::open_service(data_dir, &IvmCommand::names())?;
    svc.set_password_local(user, password)?;
    Ok(())
}

/// The keys sshd may accept for `user`: only a valid ivm user name is looked up (sshd passes
/// whatever name a client tried), in the store opened read-only.
fn authorized_keys(data_dir: &Path, user: &str) -> anyhow::Result<()> {
    if ivm_rules::validate_user_name(user).is_err() {
        return Ok(());
    }
    let db = data_dir.join(ivm_server::config::DB_FILE);
    let keys = ivm_store::ssh_keys_in(&db, user)
        .with_context(|| format!("cannot read the SSH keys of {user} in {}", db.display()))?;
    let mut out = std::io::stdout().lock();
    for k in keys {
        // A key line is checked when stored; a line break here could add a second key.
        if !k.contains(['\n', '\r']) {
            writeln!(out, "{k}")?;
        }
    }
    Ok(())
}

fn install_commands(dir: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the ivm binary")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let names: Vec<String> = IvmCommand::names()
        .into_iter()
        .chain(["ioscli".to_string()])
        .collect();
    for name in &names {
        let link = dir.join(name);
        match std::fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(&link)?,
            Ok(_) => bail!(
                "{} exists and is not a symlink; not replacing it",
                link.display()
            ),
            Err(_) => {}
        }
        std::os::unix::fs::symlink(&exe, &link)
            .with_context(|| format!("cannot create {}", link.display()))?;
    }
    println!(
        "installed {} commands in {}: {}",
        names.len(),
        dir.display(),
        names.join(" ")
    );
    Ok(())
}
