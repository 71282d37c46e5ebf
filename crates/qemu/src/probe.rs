//! Measures how fast each accelerator runs firmware, so ivm can choose one and say why.
//!
//! Both accelerators boot SeaBIOS with nothing to boot and time how long it takes to reach its
//! boot handler. Nested or software-assisted KVM is many times slower than TCG here.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ivm_model::Accel;

/// What SeaBIOS prints on its debug port when it starts looking for a boot device.
const BOOT_MARK: &[u8] = b"enter handle_19";

/// Whether /dev/kvm can be opened.
pub fn kvm_available() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// Time to reach the firmware's boot handler with `accel`, or `None` if it did not within
/// `deadline` (or QEMU could not run). `scratch` is a directory for the debug log.
pub fn firmware_boot_time(
    program: &str,
    accel: Accel,
    scratch: &Path,
    deadline: Duration,
) -> Option<Duration> {
    if accel == Accel::Kvm && !kvm_available() {
        return None;
    }
    let log = scratch.join(format!("probe-{accel}.log"));
    let _ = std::fs::remove_file(&log);
    let (accel_arg, cpu) = match accel {
        Accel::Kvm => ("kvm", "host,-arch-capabilities"),
        Accel::Tcg => ("tcg", "qemu64"),
    };
    let start = Instant::now();
    let mut child = Command::new(program)
        .args([
            "-machine", "q35", "-accel", accel_arg, "-cpu", cpu, "-m", "64M",
        ])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-boot",
            "strict=on",
        ])
        .arg("-debugcon")
        .arg(format!("file:{}", log.display()))
        .args(["-global", "isa-debugcon.iobase=0x402"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut reached = None;
    while start.elapsed() < deadline {
        if std::fs::read(&log).is_ok_and(|b| b.windows(BOOT_MARK.len()).any(|w| w == BOOT_MARK)) {
            reached = Some(start.elapsed());
            break;
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&log);
    reached
}
