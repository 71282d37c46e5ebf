//! Choosing the accelerator: measured once per host boot, cached in /run.

use std::path::Path;
use std::time::Duration;

use ivm_model::Accel;
use ivm_qemu::probe;

/// Longest a probe of one accelerator may run.
const PROBE_DEADLINE: Duration = Duration::from_secs(5);
/// Per-boot cache shared by every ivm instance on the host (/run is emptied at boot).
const CACHE: &str = "/run/ivm/accel-probe";

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The accelerator and the reason: `forced` (from configuration) wins; otherwise both are
/// probed (or the result of this boot's probe is reused) and the rules decide.
pub fn choose(program: &str, forced: Option<Accel>, scratch: &Path) -> (Accel, String) {
    if let Some(a) = forced {
        return (a, format!("{a} set in ivm.toml"));
    }
    let key = boot_id();
    if let Ok(text) = std::fs::read_to_string(CACHE) {
        let mut lines = text.lines();
        if lines.next() == Some(key.as_str()) {
            if let (Some(Ok(a)), Some(reason)) =
                (lines.next().map(str::parse::<Accel>), lines.next())
            {
                return (a, format!("{reason} (probed at this boot)"));
            }
        }
    }
    let kvm = probe::firmware_boot_time(program, Accel::Kvm, scratch, PROBE_DEADLINE);
    let tcg = probe::firmware_boot_time(program, Accel::Tcg, scratch, PROBE_DEADLINE);
    let (accel, reason) = ivm_rules::choose_accel(kvm, tcg);
    if tcg.is_some() {
        let _ = std::fs::create_dir_all("/run/ivm");
        let _ = std::fs::write(CACHE, format!("{key}\n{accel}\n{reason}\n"));
    }
    (accel, reason)
}
