//! Operations on a running QEMU over QMP: run state, vCPU and memory hot-plug.

use std::time::{Duration, Instant};

use ivm_model::Accel;
use serde_json::{json, Value};

use crate::launch::{cpu_type, VIRTIO_MEM_ID};
use crate::{Qmp, QmpError};

/// How long the guest may take to online or release hot-plugged resources.
const SETTLE: Duration = Duration::from_secs(30);

/// QEMU's run state (`running`, `paused`, `prelaunch`, `shutdown`, ...).
pub fn status(q: &Qmp) -> Result<String, QmpError> {
    let v = q.execute("query-status", Value::Null)?;
    Ok(v.get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string())
}

/// Resumes a stopped guest.
pub fn cont(q: &Qmp) -> Result<(), QmpError> {
    q.execute("cont", Value::Null).map(|_| ())
}

/// Presses the ACPI power button.
pub fn powerdown(q: &Qmp) -> Result<(), QmpError> {
    q.execute("system_powerdown", Value::Null).map(|_| ())
}

/// Stops QEMU at once. A QEMU that does not answer within a few seconds is hung: the caller
/// kills it rather than wait the usual command time.
pub fn quit(q: &Qmp) -> Result<(), QmpError> {
    match q.execute_within("quit", Value::Null, Duration::from_secs(3)) {
        Ok(_) | Err(QmpError::Closed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// vCPUs present.
pub fn vcpus(q: &Qmp) -> Result<u32, QmpError> {
    let v = q.execute("query-cpus-fast", Value::Null)?;
    Ok(v.as_array().map_or(0, |a| a.len() as u32))
}

fn core_id(slot: &Value) -> u64 {
    slot.pointer("/props/core-id")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Hot-plugs or unplugs vCPUs until `target` are present. Only vCPUs added as devices can go;
/// the boot vCPU always stays.
pub fn set_vcpus(q: &Qmp, accel: Accel, target: u32) -> Result<(), QmpError> {
    let slots = q.execute("query-hotpluggable-cpus", Value::Null)?;
    let slots = slots.as_array().cloned().unwrap_or_default();
    let (mut plugged, mut free): (Vec<Value>, Vec<Value>) =
        slots.into_iter().partition(|s| s.get("qom-path").is_some());
    let current = plugged.len() as u32;
    if target > current {
        free.sort_by_key(core_id);
        for slot in free.iter().take((target - current) as usize) {
            let core = core_id(slot);
            let mut args = json!({"driver": cpu_type(accel), "id": format!("cpu{core}")});
            if let Some(props) = slot.get("props").and_then(Value::as_object) {
                for (k, v) in props {
                    args[k] = v.clone();
                }
            }
            q.execute("device_add", args)?;
        }
    } else if target < current {
        plugged.retain(|s| {
            s.get("qom-path")
                .and_then(Value::as_str)
                .is_some_and(|p| p.starts_with("/machine/peripheral/"))
        });
        plugged.sort_by_key(|s| std::cmp::Reverse(core_id(s)));
        if (plugged.len() as u32) < current - target {
            return Err(QmpError::Command {
                command: "device_del".into(),
                desc: format!("only {} of {current} vCPUs can be unplugged", plugged.len()),
            });
        }
        for slot in plugged.iter().take((current - target) as usize) {
            let id = slot["qom-path"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("/machine/peripheral/");
            q.execute("device_del", json!({"id": id}))?;
        }
    }
    wait_until(|| Ok(vcpus(q)? == target), "vCPU hot-plug")
}

/// Memory plugged through virtio-mem, MB (0 when the partition has no room to grow).
pub fn plugged_mem_mb(q: &Qmp) -> Result<u64, QmpError> {
    match q.execute(
        "qom-get",
        json!({"path": format!("/machine/peripheral/{VIRTIO_MEM_ID}"), "property": "size"}),
    ) {
        Ok(v) => Ok(v.as_u64().unwrap_or(0) >> 20),
        Err(QmpError::Command { .. }) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Asks the guest to hold `mb` of virtio-mem memory and waits until it does.
pub fn set_plugged_mem(q: &Qmp, mb: u64) -> Result<(), QmpError> {
    q.execute(
        "qom-set",
        json!({"path": format!("/machine/peripheral/{VIRTIO_MEM_ID}"), "property": "requested-size", "value": mb << 20}),
    )?;
    wait_until(|| Ok(plugged_mem_mb(q)? == mb), "memory hot-plug")
}

fn wait_until(
    mut done: impl FnMut() -> Result<bool, QmpError>,
    what: &str,
) -> Result<(), QmpError> {
    let deadline = Instant::now() + SETTLE;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(QmpError::Timeout(format!(
                "{what}: the guest did not complete it in {} s",
                SETTLE.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
