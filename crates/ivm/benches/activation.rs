//! Time from activation to the guest's ready line: through ivm (`chsysstate -o on`) and through
//! the very same QEMU command run by hand, side by side in one run. The ratio is ivm's cost.
//! Run with `cargo bench -p ivm --bench activation` (needs the test guest in target/test-guest).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Daemon;

const RUNS: usize = 5;
const READY: &[u8] = b"IVM-TEST-GUEST READY";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

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

fn main() {
    let d = Daemon::start("");
    common::define_guest(&d, "bench", "desired_procs=1,desired_mem=256");
    let log = d.data_dir().join("lpars/2/console.log");
    let mut via_ivm = Vec::new();
    let mut argv: Vec<String> = Vec::new();
    for _ in 0..RUNS {
        let _ = std::fs::remove_file(&log);
        let start = Instant::now();
        d.ok(&["chsysstate", "-r", "lpar", "-o", "on", "-n", "bench"]);
        via_ivm.push(wait_ready(&log, start));
        let pid = std::fs::read_to_string(d.data_dir().join("lpars/2/qemu.pid")).unwrap();
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap();
        argv = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
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

    // The same command by hand, in a directory of its own, running at once instead of waiting
    // for ivm to attach QMP (-S), and without cgroups.
    let hand = tempfile::tempdir().unwrap();
    let lpar_dir = d.data_dir().join("lpars/2");
    let args: Vec<String> = argv[1..]
        .iter()
        .filter(|a| a.as_str() != "-S")
        .map(|a| a.replace(lpar_dir.to_str().unwrap(), hand.path().to_str().unwrap()))
        .collect();
    let hand_log = hand.path().join("console.log");
    let mut by_hand = Vec::new();
    for _ in 0..RUNS {
        let _ = std::fs::remove_file(&hand_log);
        let start = Instant::now();
        let st = Command::new(&argv[0])
            .args(&args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "QEMU by hand failed");
        by_hand.push(wait_ready(&hand_log, start));
        let pid: i32 = std::fs::read_to_string(hand.path().join("qemu.pid"))
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
    }
    let accel = d.ok(&["lssyscfg", "-r", "sys", "-F", "accel"]);
    let (i, h) = (median(via_ivm), median(by_hand));
    println!("accelerator:                     {}", accel.trim());
    println!(
        "activation to ready, via ivm:    {:.2} s (median of {RUNS})",
        i.as_secs_f64()
    );
    println!(
        "same QEMU command by hand:       {:.2} s (median of {RUNS})",
        h.as_secs_f64()
    );
    println!(
        "ratio ivm / by hand:             {:.2}",
        i.as_secs_f64() / h.as_secs_f64()
    );
}
