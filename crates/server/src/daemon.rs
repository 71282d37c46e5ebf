//! `ivm serve`: opens the data directory and serves HTTPS and the Unix socket.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tower_http::trace::TraceLayer;

use ivm_host::cgroup::Hierarchy;
use sha2::Digest;

use crate::config::{
    DaemonConfig, Settings, DEFAULT_SHUTDOWN_DELAY_SECS, DEFAULT_TASK_RETENTION_DAYS, SOCKET_FILE,
};
use crate::runtime::{choose_accel, HostEnv, QemuIdentity, Runtime, RuntimeEvent};
use crate::service::Service;

use crate::{api, tls, unix};

/// How long a client may take to send a request's headers.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How often old tasks and idle sessions are removed.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// How often the running partitions' console logs are checked against their bound.
const LOG_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Holds the data directory's lock for as long as the daemon runs.
struct DataDirLock(#[allow(dead_code)] fs::File);

fn lock_data_dir(dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = dir.join("ivm.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!("another ivm serve is already using {}", dir.display());
    }
    Ok(DataDirLock(file))
}

/// Lets the daemon hold as many connections as the hard limit allows (idle clients must not
/// starve others of descriptors).
fn raise_open_files_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Files in the data directory that hold secrets (password hashes, session tokens, the TLS
/// key, what partitions printed) or the state of partitions: owner only.
fn secret_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = ["ivm.db", "ivm.db-wal", "ivm.db-shm", "tls/key.pem"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    if let Ok(lpars) = fs::read_dir(dir.join("lpars")) {
        for d in lpars.flatten() {
            files.push(d.path());
            files.push(d.path().join("console.log"));
        }
    }
    files.push(dir.join("lpars"));
    files.push(dir.join("tls"));
    files
}

/// Makes every secret in the data directory private to root, saying what was not.
pub fn secure_data_dir(dir: &Path) {
    for f in secret_files(dir) {
        let Ok(meta) = fs::symlink_metadata(&f) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode & 0o077 != 0 {
            tracing::warn!(path = %f.display(), mode = format!("{mode:o}"), "readable by others; fixing");
            eprintln!(
                "ivm: warning: {} was mode {mode:o}; set to {want:o}",
                f.display()
            );
            if let Err(e) = fs::set_permissions(&f, fs::Permissions::from_mode(want)) {
                tracing::error!(path = %f.display(), error = %e, "cannot fix permissions");
            }
        }
    }
}

/// Opens the data directory and the service (creating padmin on first start).
pub fn open_service(
    data_dir: &Path,
    commands: &[String],
) -> anyhow::Result<(Service, Option<String>, Settings)> {
    // Everything ivm and its QEMUs create is private unless made otherwise.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe { libc::umask(0o077) };
    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    // Traversable by all so that Unix users mapped to ivm accounts reach the socket.
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o711))?;
    let settings = Settings::load(data_dir)?;
    let root = Path::new(crate::config::HOST_ROOT);
    let facts = ivm_host::discover(root).context("cannot discover the managed system")?;
    let system = settings.apply(facts)?;
    let (svc, password) = Service::open(data_dir, system)?;
    let mut svc = svc.with_pool_dirs(&settings.pool_dirs).with_host_root(root);
    if settings.unix_accounts != Some(false) {
        let exe = std::env::current_exe().context("cannot find the ivm binary")?;
        let shell = crate::shell::prepare(
            data_dir,
            &exe,
            commands,
            settings.oem_setup_env != Some(false),
        )
        .context("cannot lay out the restricted shell")?;
        svc = svc.with_login_shell(shell);
        svc.ensure_login_accounts();
    }
    Ok((svc, password, settings))
}

/// This instance's cgroup: named after its data directory, so instances never share one.
fn cgroup_parent(data_dir: &Path) -> String {
    let canonical = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = sha2::Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    format!("ivm-{}", &hex::encode(digest)[..12])
}

/// Who QEMU runs as: the account `qemu_user` names (made when missing), or else a user and
/// group ID of its own for each partition, `base + ID`, from a range chosen by the data
/// directory's digest (`qemu_uid_base` sets it) that no account or subordinate ID range of the
/// host may touch.
fn qemu_identity(settings: &Settings, cgroup_parent: &str) -> Result<QemuIdentity, String> {
    if let Some(user) = &settings.qemu_user {
        return ivm_host::users::ensure_system_user(user)
            .map(|()| QemuIdentity::Account(user.clone()));
    }
    let max = settings
        .max_lpars
        .unwrap_or(crate::config::DEFAULT_MAX_LPARS);
    let base = match settings.qemu_uid_base {
        Some(b) => b,
        None => {
            // 16384 IDs for each of 16384 instances from 0x7000_0000, below 2^31.
            let slot = u32::from_str_radix(&cgroup_parent[4..8], 16).unwrap_or(0) % 16384;
            crate::config::DEFAULT_QEMU_UID_BASE + slot * 16384
        }
    };
    let last = base
        .checked_add(max)
        .filter(|l| *l < u32::MAX - 1 && base > 0)
        .ok_or_else(|| format!("qemu_uid_base {base} leaves no room for {max} partitions"))?;
    match ivm_host::users::id_in_use(Path::new(crate::config::HOST_ROOT), base + 1..=last) {
        Some(who) => Err(format!(
            "the IDs {}..={last} for partitions' QEMU are in use by {who}; set qemu_uid_base (or qemu_user) in ivm.toml",
            base + 1
        )),
        None => Ok(QemuIdentity::Range { base }),
    }
}

/// The host runtime: accelerator (configured or probed), cgroups, CPUs, partition directories.
fn build_runtime(
    data_dir: &Path,
    settings: &Settings,
    events: std::sync::mpsc::Sender<RuntimeEvent>,
) -> Runtime {
    let program = ivm_qemu::QEMU_BINARY.to_string();
    let (accel, accel_reason) = choose_accel(&program, settings.accel, data_dir);
    println!("ivm: accelerator {accel}: {accel_reason}");
    let cgroups = Hierarchy::detect().map_err(|e| e.to_string());
    match &cgroups {
        Ok(h) => tracing::info!(version = %h.version(), "using cgroups"),
        Err(e) => tracing::warn!(error = %e, "partitions cannot be activated"),
    }
    let parent = cgroup_parent(data_dir);
    let qemu_user = qemu_identity(settings, &parent);
    match &qemu_user {
        Ok(QemuIdentity::Range { base }) => {
            tracing::info!(
                first_uid = base + 1,
                "each partition's QEMU runs as its own user"
            )
        }
        Ok(QemuIdentity::Account(a)) => tracing::info!(account = a, "QEMU runs as one account"),
        Err(e) => tracing::warn!(error = %e, "partitions cannot be activated"),
    }
    let net_parent = parent.clone();
    let _ = fs::write(data_dir.join("cgroup.name"), format!("{parent}\n"));
    let env = HostEnv {
        program,
        accel,
        accel_reason,
        cgroups,
        cgroup_parent: parent,
        host_cpus: ivm_host::online_cpus(Path::new(crate::config::HOST_ROOT)),
        root: crate::config::HOST_ROOT.into(),
        lpar_root: data_dir.join("lpars"),
        qemu_user,
        aio: if ivm_storage::files::io_uring_available() {
            "io_uring"
        } else {
            "native"
        },
        // Four hex digits of the same digest as the cgroup: `ivm1a2b` + `v<ID>` or
        // `t<lpar>s<slot>` stays within the 15 bytes of an interface name.
        net_prefix: format!("ivm{}", &net_parent[4..8]),
        vhost_net: ivm_net::tap::vhost_net_available(),
    };
    tracing::info!(
        vhost_net = env.vhost_net,
        "virtual Ethernet adapters' packets move {}",
        if env.vhost_net {
            "in the kernel (vhost-net)"
        } else {
            "through QEMU (the kernel has no /dev/vhost-net)"
        }
    );
    Runtime::new(env, events)
}

/// True on the first start after the host booted (the kernel's boot ID changed).
fn first_start_since_boot(data_dir: &Path) -> bool {
    let now = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let file = data_dir.join("boot_id");
    let before = fs::read_to_string(&file).unwrap_or_default();
    let _ = fs::write(&file, &now);
    before.trim() != now.trim()
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn serve(cfg: DaemonConfig) -> anyhow::Result<()> {
    fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let _lock = lock_data_dir(&cfg.data_dir)?;
    secure_data_dir(&cfg.data_dir);
    raise_open_files_limit();
    let data_dir = cfg.data_dir.clone();
    let commands = cfg.commands.clone();
    let (svc, password, settings) = tokio::task::spawn_blocking(move || {
        let (svc, password, settings) = open_service(&data_dir, &commands)?;
        // Storage is the daemon's to set up (not `ivm passwd`'s, which opens the store too).
        svc.prepare_storage(&data_dir, settings.rootvg_size_mb)?;
        Ok::<_, anyhow::Error>((svc, password, settings))
    })
    .await??;
    if let Some(pw) = password {
        println!("ivm: created user padmin with password {pw} (change it with 'ivm passwd')");
    }
    let util_secs = settings.util_sample_secs;
    let settings_log_max = settings
        .console_log_max_kb
        .unwrap_or(crate::config::DEFAULT_CONSOLE_LOG_MAX_KB)
        .max(1);
    let keep_days = settings
        .task_retention_days
        .unwrap_or(DEFAULT_TASK_RETENTION_DAYS);
    let delay = Duration::from_secs(
        settings
            .shutdown_delay_secs
            .unwrap_or(DEFAULT_SHUTDOWN_DELAY_SECS),
    );
    let auto_start_delay = Duration::from_secs(settings.auto_start_delay_secs.unwrap_or(0));
    let (events_tx, events_rx) = std::sync::mpsc::channel();
    let data_dir = cfg.data_dir.clone();
    let runtime =
        tokio::task::spawn_blocking(move || build_runtime(&data_dir, &settings, events_tx)).await?;
    let svc = Arc::new(svc.with_runtime(Arc::new(runtime), delay));
    let events_svc = svc.clone();
    std::thread::Builder::new()
        .name("partition-events".into())
        .spawn(move || {
            for ev in events_rx {
                events_svc.handle_event(ev);
            }
        })?;
    let prune_svc = svc.clone();
    std::thread::Builder::new()
        .name("prune".into())
        .spawn(move || loop {
            match prune_svc.prune(keep_days) {
                Ok((t, s)) if t + s > 0 => {
                    tracing::info!(tasks = t, sessions = s, "pruned old tasks and sessions")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot prune tasks and sessions"),
            }
            std::thread::sleep(PRUNE_INTERVAL);
        })?;
    if let Some(secs) = util_secs {
        svc.set_configured_sample_rate(secs)?;
    }
    let logs_svc = svc.clone();
    let log_max = settings_log_max * 1024;
    std::thread::Builder::new()
        .name("console-logs".into())
        .spawn(move || loop {
            // A guest writes its console at most a few MB a second under TCG: a second's
            // overshoot of the bound is small.
            std::thread::sleep(LOG_CHECK_INTERVAL);
            logs_svc.bound_console_logs(log_max);
        })?;
    let booted = first_start_since_boot(&cfg.data_dir);
    let resume_svc = svc.clone();
    tokio::task::spawn_blocking(move || resume_svc.resume_runtime()).await??;
    // After the partitions are adopted: the first sample, taken at once, has them.
    let util_svc = svc.clone();
    std::thread::Builder::new()
        .name("utilization".into())
        .spawn(move || util_svc.run_sampler())?;
    let app = api::router(svc.clone()).layer(TraceLayer::new_for_http());

    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = tls::rustls_config(
        &cfg.data_dir,
        cfg.cert.as_deref(),
        cfg.key.as_deref(),
        &svc.system().name,
    )
    .await?;
    let handle = axum_server::Handle::new();
    let mut server = axum_server::bind_rustls(cfg.listen, tls).handle(handle.clone());
    // A client that sends its headers slowly (or not at all) is cut off; the TLS handshake
    // has axum-server's own 10 s limit.
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let https = server.serve(
        app.clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    );
    let https = tokio::spawn(https);
    let addr = handle
        .listening()
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;

    let socket = cfg.data_dir.join(SOCKET_FILE);
    let listener = unix::bind(&socket)?;
    let unix = tokio::spawn(unix::serve(listener, app));
    println!("ivm: serving https://{addr}/ and {}", socket.display());
    tracing::info!(%addr, socket = %socket.display(), system = %svc.system().name, "ivm started");
    // Ready only now: partitions adopted, HTTPS and the socket listening.
    crate::systemd::notify(&format!("READY=1\nSTATUS=serving https://{addr}/"));
    if booted {
        // After readiness: a long list of auto_start partitions, spaced out, does not hold
        // the service's start (nor the console) back.
        let start_svc = svc.clone();
        std::thread::Builder::new()
            .name("auto-start".into())
            .spawn(move || {
                if let Err(e) = start_svc.auto_start(auto_start_delay) {
                    tracing::error!(error = %e, "auto_start: cannot list the partitions");
                }
            })?;
    }
    if let Some(every) = crate::systemd::watchdog_interval() {
        let beat_svc = svc.clone();
        tokio::spawn(async move { heartbeat(beat_svc, every).await });
    }

    let result = tokio::select! {
        r = https => r.context("HTTPS server task").and_then(|r| r.context("HTTPS server")),
        r = unix => r.context("Unix socket task").and_then(|r| r),
        () = shutdown_signal() => {
            handle.graceful_shutdown(Some(Duration::from_secs(5)));
            Ok(())
        }
    };
    crate::systemd::notify("STOPPING=1");
    let _ = fs::remove_file(&socket);
    tracing::info!("ivm stopped");
    result
}

/// Tells systemd's watchdog the daemon is alive, each time the async runtime turns over and
/// the store answers a read within the interval: a daemon stuck on either is restarted.
async fn heartbeat(svc: Arc<Service>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let probe = svc.clone();
        let read = tokio::task::spawn_blocking(move || probe.partitions().map(|_| ()));
        match tokio::time::timeout(every, read).await {
            Ok(Ok(Ok(()))) => {
                crate::systemd::notify("WATCHDOG=1");
            }
            Ok(Ok(Err(e))) => {
                tracing::error!(error = %e, "the store does not answer; the watchdog is not told")
            }
            _ => tracing::error!("the store did not answer in time; the watchdog is not told"),
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
