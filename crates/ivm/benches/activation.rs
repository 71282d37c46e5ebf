//! Time from activation to the guest's ready line: through ivm (`chsysstate -o on`) and through
//! the very same QEMU command run by hand, interleaved (ivm, by hand, ivm, ...) so that both
//! see the same machine; prints the median ratio of the pairs with its spread, and where ivm's
//! time went phase by phase (from the daemon's `ivm_activation_phase_seconds`).
//! Run with `cargo bench -p ivm --bench activation` (needs the test guest in target/test-guest).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "figures/mod.rs"]
mod figures;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Daemon;
use figures::median;

const RUNS: usize = 7;
const READY: &[u8] = b"IVM-TEST-GUEST READY";

fn wait_ready(log: &Path, start: Instant) -> Duration {
    let deadline = start + Duration::from_secs(120);
    loop {
        if std::fs::read(log).is_ok_and(|b| b.windows(READY.len()).any(|w| w == READY)) {
            return start.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "no ready line in {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn argv_of(pidfile: &Path) -> Vec<String> {
    let pid = std::fs::read_to_string(pidfile).unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap();
    cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn via_ivm(d: &Daemon, log: &Path) -> Duration {
    let _ = std::fs::remove_file(log);
    let start = Instant::now();
    d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "bench"]);
    wait_ready(log, start)
}

fn stop_ivm(d: &Daemon) {
    d.ok(&[
        "chsysstate",
        "-r",
        "lpar",
        "-o",
        "shutdown",
        "--immed",
        "-n",
        "bench",
    ]);
}

/// The same command by hand, in a directory of its own, running at once instead of waiting
/// for ivm to attach QMP (-S), and without cgroups.
fn by_hand(program: &str, args: &[String], dir: &Path) -> Duration {
    let log = dir.join("console.log");
    let _ = std::fs::remove_file(&log);
    let start = Instant::now();
    let st = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "QEMU by hand failed");
    let took = wait_ready(&log, start);
    let pid: i32 = std::fs::read_to_string(dir.join("qemu.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: stopping the QEMU this benchmark started by hand.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    while Path::new(&format!("/proc/{pid}/cmdline")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    took
}

/// Mean seconds per activation phase from the daemon's metrics, in the path's order.
fn phases(d: &Daemon) -> Vec<(String, f64)> {
    let text = tokio::runtime::Runtime::new().unwrap().block_on(async {
        d.set_password("padmin", "padmin-pass-1");
        let token = d.token("padmin", "padmin-pass-1").await;
        let url = d.url("/metrics").replace("/api/v1/metrics", "/metrics");
        let r = d.https().get(url).bearer_auth(token).send().await.unwrap();
        r.text().await.unwrap()
    });
    let value = |line: &str| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("ivm_activation_phase_seconds_sum{phase=\"") else {
            continue;
        };
        let name = rest.split('"').next().unwrap().to_string();
        let count = text
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "ivm_activation_phase_seconds_count{{phase=\"{name}\"}}"
                ))
            })
            .map(value)
            .unwrap();
        out.push((name, value(line) / count));
    }
    out
}

fn main() {
    let d = Daemon::start("");
    // No virtual Ethernet: QEMU is given its taps as descriptors, which a hand-run command lacks.
    common::define_guest(
        &d,
        "bench",
        "desired_procs=1,desired_mem=256,virtual_eth_adapters=none",
    );
    let lpar_dir = d.data_dir().join("lpars/2");
    let log = lpar_dir.join("console.log");
    // One activation through ivm first, for the command line to run by hand.
    via_ivm(&d, &log);
    let argv = argv_of(&lpar_dir.join("qemu.pid"));
    stop_ivm(&d);
    let hand = tempfile::tempdir().unwrap();
    let args: Vec<String> = argv[1..]
        .iter()
        .filter(|a| a.as_str() != "-S")
        .map(|a| a.replace(lpar_dir.to_str().unwrap(), hand.path().to_str().unwrap()))
        .collect();
    let (mut ivm, mut hand_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let i = via_ivm(&d, &log);
        stop_ivm(&d);
        let h = by_hand(&argv[0], &args, hand.path());
        ratios.push(i.as_secs_f64() / h.as_secs_f64());
        ivm.push(i);
        hand_times.push(h);
    }
    let accel = d.ok(&["lssyscfg", "-r", "sys", "-F", "accel"]);
    ratios.sort_by(f64::total_cmp);
    let (i, h) = (median(ivm), median(hand_times));
    println!("accelerator:                     {}", accel.trim());
    println!(
        "activation to ready, via ivm:    {:.3} s (median of {RUNS}, interleaved)",
        i.as_secs_f64()
    );
    println!(
        "same QEMU command by hand:       {:.3} s (median of {RUNS}, interleaved)",
        h.as_secs_f64()
    );
    println!(
        "ratio ivm / by hand, per pair:   median {:.3}, min {:.3}, max {:.3}",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!(
        "where ivm's time went (mean per activation, {} activations):",
        RUNS + 1
    );
    let phases = phases(&d);
    let total: f64 = phases.iter().map(|(_, s)| s).sum();
    for (name, secs) in &phases {
        println!("  {name:<22} {:>8.1} ms", secs * 1000.0);
    }
    println!(
        "  {:<22} {:>8.1} ms (from the request to chsysstate's answer)",
        "total",
        total * 1000.0
    );
}
