//! Operations on a running QEMU over QMP: run state, vCPU and memory hot-plug.

use std::time::{Duration, Instant};

use ivm_model::Accel;
use serde_json::{json, Value};

use crate::launch::{cpu_type, VIRTIO_MEM_ID};
use crate::{Qmp, QmpError};

/// How long the guest may take to online or release hot-plugged resources.
const SETTLE: Duration = Duration::from_secs(30);

/// QEMU's run state, as `query-status` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// `running`: the guest runs.
    Running,
    /// `prelaunch`: started with `-S`, never run yet.
    Prelaunch,
    /// `paused`: stopped by a `stop` command.
    Paused,
    /// `shutdown`: the guest shut down and QEMU waits (`-no-shutdown`).
    Shutdown,
    /// `inmigrate`: an incoming migration's target, waiting for or reading the guest.
    InMigrate,
    /// `postmigrate`/`finish-migrate`: a source that has sent (or is sending) the last of
    /// the guest.
    Migrated,
    /// Any other state (`internal-error`, `io-error`, `guest-panicked`, ...), by its name.
    Other(String),
}

impl RunStatus {
    /// The state QEMU names `name`.
    pub fn from_qmp(name: &str) -> RunStatus {
        match name {
            "running" => RunStatus::Running,
            "prelaunch" => RunStatus::Prelaunch,
            "paused" => RunStatus::Paused,
            "shutdown" => RunStatus::Shutdown,
            "inmigrate" => RunStatus::InMigrate,
            "postmigrate" | "finish-migrate" => RunStatus::Migrated,
            other => RunStatus::Other(other.to_string()),
        }
    }
}

/// QEMU's run state.
pub fn status(q: &Qmp) -> Result<RunStatus, QmpError> {
    let v = q.execute("query-status", Value::Null)?;
    Ok(RunStatus::from_qmp(
        v.get("status").and_then(Value::as_str).unwrap_or("unknown"),
    ))
}

/// Whether the guest has the agent's port open (qemu-ga runs), from QEMU's chardev list.
pub fn agent_open(q: &Qmp) -> Result<bool, QmpError> {
    let v = q.execute("query-chardev", Value::Null)?;
    Ok(v.as_array().into_iter().flatten().any(|c| {
        c.get("label").and_then(Value::as_str) == Some(crate::agent::AGENT_CHARDEV)
            && c.get("frontend-open").and_then(Value::as_bool) == Some(true)
    }))
}

/// Under TCG, the translation buffer's generated code and capacity in bytes (HMP `info jit`);
/// `None` when QEMU does not say (KVM).
pub fn jit_usage(q: &Qmp) -> Result<Option<(u64, u64)>, QmpError> {
    let v = q.execute("human-monitor-command", json!({"command-line": "info jit"}))?;
    Ok(v.as_str().and_then(parse_jit))
}

/// `gen code size       60936979/67026944` from `info jit`.
fn parse_jit(text: &str) -> Option<(u64, u64)> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("gen code size"))?;
    let (used, capacity) = line.trim_start()["gen code size".len()..]
        .trim()
        .split_once('/')?;
    Some((used.trim().parse().ok()?, capacity.trim().parse().ok()?))
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

/// Where the virtio-mem device's region starts in guest physical memory, bytes (none when
/// the partition has no room to grow).
pub fn plugged_region_start(q: &Qmp) -> Result<Option<u64>, QmpError> {
    let v = q.execute("query-memory-devices", Value::Null)?;
    Ok(v.as_array().and_then(|devs| {
        devs.iter()
            .filter(|d| d.get("type").and_then(Value::as_str) == Some("virtio-mem"))
            .map(|d| &d["data"])
            .find(|d| d.get("id").and_then(Value::as_str) == Some(VIRTIO_MEM_ID))
            .and_then(|d| d.get("memaddr").and_then(Value::as_u64))
    }))
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

/// Puts `file` into the descriptor set of `lun` (sent over the QMP socket); returns the set.
fn add_fd(q: &Qmp, lun: u32, vtd: &str, file: &std::fs::File) -> Result<u32, QmpError> {
    use std::os::unix::io::AsRawFd;
    let set = crate::launch::fdset_for(lun);
    q.execute_with_fd(
        "add-fd",
        json!({"fdset-id": set, "opaque": vtd}),
        file.as_raw_fd(),
    )?;
    Ok(set)
}

/// Hot-plugs a disk onto the partition's virtual SCSI controller `vhostN`: the descriptor goes
/// into a descriptor set, then the block nodes and the SCSI disk are added. A failed step
/// takes back the ones before it.
pub fn attach_disk(
    q: &Qmp,
    at: &crate::launch::DiskPlacement,
    file: &std::fs::File,
    aio: &str,
) -> Result<(), QmpError> {
    let (vhost, vtd, lun) = (at.vhost, at.vtd, at.lun);
    let set = add_fd(q, lun, vtd, file)?;
    let (file_node, raw_node, dev) =
        crate::launch::disk_nodes(vhost, vtd, lun, set, at.direct, at.block, aio);
    let undo_fd = || {
        let _ = q.execute("remove-fd", json!({ "fdset-id": set }));
    };
    let props = |list: &str| -> Value {
        let mut v = serde_json::Map::new();
        for kv in list.split(',') {
            let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
            let val = match val {
                "on" => Value::Bool(true),
                "off" => Value::Bool(false),
                _ => match val.parse::<u64>() {
                    Ok(n) if k == "lun" || k == "channel" || k == "scsi-id" => json!(n),
                    _ => json!(val),
                },
            };
            // `cache.direct` is nested in QMP.
            if let Some((outer, inner)) = k.split_once('.') {
                v.entry(outer.to_string())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .map(|o| o.insert(inner.to_string(), val));
            } else {
                v.insert(k.to_string(), val);
            }
        }
        Value::Object(v)
    };
    if let Err(e) = q.execute("blockdev-add", props(&file_node)) {
        undo_fd();
        return Err(e);
    }
    if let Err(e) = q.execute("blockdev-add", props(&raw_node)) {
        let _ = q.execute("blockdev-del", json!({"node-name": format!("f-{vtd}")}));
        undo_fd();
        return Err(e);
    }
    let mut device = props(&dev[dev.find(',').map_or(dev.len(), |i| i + 1)..]);
    device["driver"] = json!("scsi-hd");
    if let Err(e) = q.execute("device_add", device) {
        let _ = q.execute("blockdev-del", json!({ "node-name": vtd }));
        let _ = q.execute("blockdev-del", json!({"node-name": format!("f-{vtd}")}));
        undo_fd();
        return Err(e);
    }
    Ok(())
}

/// Hot-plugs an RBD image onto the partition's virtual SCSI controller `vhostN`: its key into
/// a secret object (over the QMP socket, never on disk), then the block nodes and the SCSI
/// disk. A failed step takes back the ones before it.
pub fn attach_rbd(
    q: &Qmp,
    at: &crate::launch::DiskPlacement,
    drive: &crate::launch::RbdDrive,
    key: &str,
) -> Result<(), QmpError> {
    let vtd = at.vtd;
    let secret = crate::launch::secret_id(vtd);
    q.execute(
        "object-add",
        json!({"qom-type": "secret", "id": secret, "data": key, "format": "base64"}),
    )?;
    let undo_secret = || {
        let _ = q.execute("object-del", json!({ "id": secret }));
    };
    if let Err(e) = q.execute("blockdev-add", crate::launch::rbd_node(vtd, drive)) {
        undo_secret();
        return Err(e);
    }
    let raw = json!({"driver": "raw", "node-name": vtd, "file": format!("f-{vtd}")});
    if let Err(e) = q.execute("blockdev-add", raw) {
        let _ = q.execute("blockdev-del", json!({"node-name": format!("f-{vtd}")}));
        undo_secret();
        return Err(e);
    }
    let device = json!({"driver": "scsi-hd",
        "bus": format!("{}.0", crate::launch::controller_id(at.vhost)),
        "channel": 0, "scsi-id": 0, "lun": at.lun, "drive": vtd, "id": vtd});
    if let Err(e) = q.execute("device_add", device) {
        let _ = q.execute("blockdev-del", json!({ "node-name": vtd }));
        let _ = q.execute("blockdev-del", json!({"node-name": format!("f-{vtd}")}));
        undo_secret();
        return Err(e);
    }
    Ok(())
}

/// Unplugs device `id` if it is there and waits until the guest let it go.
fn unplug(q: &Qmp, id: &str, what: &str) -> Result<(), QmpError> {
    if has_device(q, id)? {
        q.execute("device_del", json!({ "id": id }))?;
        wait_until(|| Ok(!has_device(q, id)?), what)?;
    }
    Ok(())
}

/// Whether a device with this id is plugged.
pub fn has_device(q: &Qmp, id: &str) -> Result<bool, QmpError> {
    let v = q.execute("qom-list", json!({"path": "/machine/peripheral"}))?;
    Ok(v.as_array()
        .is_some_and(|a| a.iter().any(|p| p["name"] == id)))
}

/// Unplugs a disk: the SCSI device (waiting until the guest let it go), its block nodes and its
/// descriptor set.
pub fn detach_disk(q: &Qmp, vtd: &str, lun: u32) -> Result<(), QmpError> {
    unplug(q, vtd, "disk unplug")?;
    for node in [vtd.to_string(), format!("f-{vtd}")] {
        // The device leaves the QOM tree a moment before it lets go of its block backend
        // (its iothread finishes first): "in use" is waited out, bounded.
        let deadline = Instant::now() + SETTLE;
        loop {
            match q.execute("blockdev-del", json!({ "node-name": node })) {
                Ok(_) => break,
                Err(QmpError::Command { desc, .. })
                    if desc.contains("in use") && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(QmpError::Command { desc, .. }) if desc.contains("in use") => {
                    return Err(QmpError::Timeout(format!(
                        "disk unplug: QEMU still uses {node} after {} s ({desc})",
                        SETTLE.as_secs()
                    )));
                }
                // Already gone (an unplug that was cut short and is finished now).
                Err(QmpError::Command { .. }) => break,
                Err(e) => return Err(e),
            }
        }
    }
    // An RBD disk's key (none for other disks).
    match q.execute("object-del", json!({ "id": crate::launch::secret_id(vtd) })) {
        Ok(_) | Err(QmpError::Command { .. }) => {}
        Err(e) => return Err(e),
    }
    match q.execute(
        "remove-fd",
        json!({"fdset-id": crate::launch::fdset_for(lun)}),
    ) {
        Ok(_) | Err(QmpError::Command { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Tells QEMU (and so the guest) that a disk's backing grew to `size_mb`.
pub fn resize_disk(q: &Qmp, vtd: &str, size_mb: u64) -> Result<(), QmpError> {
    q.execute(
        "block_resize",
        json!({"node-name": vtd, "size": size_mb << 20}),
    )
    .map(|_| ())
}

/// Hot-plugs an empty virtual optical device onto controller `vhostN`.
pub fn attach_optical(q: &Qmp, vhost: u32, vtd: &str, lun: u32) -> Result<(), QmpError> {
    let dev = json!({"driver": "scsi-cd", "bus": format!("{}.0", crate::launch::controller_id(vhost)),
        "channel": 0, "scsi-id": 0, "lun": lun, "id": vtd});
    q.execute("device_add", dev).map(|_| ())
}

/// Unplugs a virtual optical device (waiting until the guest let it go) and its media's
/// descriptor set.
pub fn detach_optical(q: &Qmp, vtd: &str, lun: u32) -> Result<(), QmpError> {
    unplug(q, vtd, "optical device unplug")?;
    remove_fdset(q, lun)
}

fn remove_fdset(q: &Qmp, lun: u32) -> Result<(), QmpError> {
    match q.execute(
        "remove-fd",
        json!({"fdset-id": crate::launch::fdset_for(lun)}),
    ) {
        Ok(_) | Err(QmpError::Command { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Loads media into optical device `vtd` (replacing what it holds, even if the guest locked
/// the tray): the descriptor goes into the LUN's descriptor set, then the medium changes.
pub fn load_media(
    q: &Qmp,
    vtd: &str,
    lun: u32,
    file: &std::fs::File,
    writable: bool,
) -> Result<(), QmpError> {
    unload_media(q, vtd, lun)?;
    let set = add_fd(q, lun, vtd, file)?;
    let changed = q.execute(
        "blockdev-change-medium",
        json!({"id": vtd, "filename": format!("/dev/fdset/{set}"), "format": "raw",
               "read-only-mode": if writable { "read-write" } else { "read-only" }, "force": true}),
    );
    if let Err(e) = changed {
        let _ = remove_fdset(q, lun);
        return Err(e);
    }
    Ok(())
}

/// Ejects the media of optical device `vtd` (an empty device is fine) and frees its
/// descriptor set.
pub fn unload_media(q: &Qmp, vtd: &str, lun: u32) -> Result<(), QmpError> {
    match q.execute("eject", json!({"id": vtd, "force": true})) {
        Ok(_) => {}
        // "No medium" is what an empty device answers.
        Err(QmpError::Command { desc, .. }) if desc.contains("edium") => {}
        Err(e) => return Err(e),
    }
    remove_fdset(q, lun)
}

/// Hot-plugs a virtual Ethernet adapter into its slot's root port: the tap's descriptor goes
/// over the socket, then the network backend and the virtio-net device. A failed step takes
/// back the ones before it.
pub fn attach_nic(
    q: &Qmp,
    slot: u32,
    tap: &std::fs::File,
    vhost: Option<&std::fs::File>,
    mac: &str,
) -> Result<(), QmpError> {
    use std::os::unix::io::AsRawFd;
    let fdname = format!("tap{slot}");
    q.execute_with_fd("getfd", json!({ "fdname": fdname }), tap.as_raw_fd())?;
    let net = format!("net{slot}");
    let mut args = json!({"type": "tap", "id": net, "fd": fdname});
    let vhostname = format!("vhost{slot}");
    if let Some(v) = vhost {
        if let Err(e) = q.execute_with_fd("getfd", json!({ "fdname": vhostname }), v.as_raw_fd()) {
            let _ = q.execute("closefd", json!({ "fdname": fdname }));
            return Err(e);
        }
        args["vhost"] = json!(true);
        args["vhostfd"] = json!(vhostname);
    }
    if let Err(e) = q.execute("netdev_add", args) {
        let _ = q.execute("closefd", json!({ "fdname": fdname }));
        if vhost.is_some() {
            let _ = q.execute("closefd", json!({ "fdname": vhostname }));
        }
        return Err(e);
    }
    let dev = json!({"driver": "virtio-net-pci", "netdev": net, "mac": mac,
        "id": format!("ent{slot}"), "bus": crate::launch::nic_port(slot)});
    if let Err(e) = q.execute("device_add", dev) {
        let _ = q.execute("netdev_del", json!({ "id": net }));
        return Err(e);
    }
    Ok(())
}

/// Unplugs a virtual Ethernet adapter (waiting until the guest let it go) and its backend.
pub fn detach_nic(q: &Qmp, slot: u32) -> Result<(), QmpError> {
    unplug(q, &format!("ent{slot}"), "adapter unplug")?;
    match q.execute("netdev_del", json!({ "id": format!("net{slot}") })) {
        Ok(_) | Err(QmpError::Command { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets the balloon so the guest has `mb` of its memory (a shared-memory partition's logical
/// memory in use).
pub fn set_balloon(q: &Qmp, mb: u64) -> Result<(), QmpError> {
    q.execute("balloon", json!({ "value": mb << 20 }))
        .map(|_| ())
}

/// Sets the balloon of a dedicated-memory partition that booted with `boot_mb` to leave the
/// guest `mb` and waits until the guest has filled or emptied it that far, so a memory limit
/// lowered next finds the pages already given back. The balloon works below the boot memory
/// only (what is above is plugged memory, never ballooned).
pub fn set_balloon_and_wait(q: &Qmp, mb: u64, boot_mb: u64) -> Result<(), QmpError> {
    set_balloon(q, mb)?;
    wait_until(
        || Ok(balloon_mb(q)?.min(boot_mb) == mb.min(boot_mb)),
        "balloon",
    )
}

/// Whether the partition has a balloon device (QMP answers `query-balloon` only then).
pub fn has_balloon(q: &Qmp) -> Result<bool, QmpError> {
    match q.execute("query-balloon", Value::Null) {
        Ok(_) => Ok(true),
        Err(QmpError::Command { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The memory the guest booted with (QEMU's base memory), MB.
pub fn boot_mem_mb(q: &Qmp) -> Result<u64, QmpError> {
    let v = q.execute("query-memory-size-summary", Value::Null)?;
    v.get("base-memory")
        .and_then(Value::as_u64)
        .map(|b| b >> 20)
        .ok_or_else(|| QmpError::Protocol(format!("query-memory-size-summary answered {v}")))
}

/// The memory the guest has now, by the balloon, MB.
pub fn balloon_mb(q: &Qmp) -> Result<u64, QmpError> {
    let v = q.execute("query-balloon", Value::Null)?;
    v.get("actual")
        .and_then(Value::as_u64)
        .map(|b| b >> 20)
        .ok_or_else(|| QmpError::Protocol(format!("query-balloon answered {v}")))
}

/// Bytes read and written through one of a partition's virtual SCSI devices since QEMU started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockStats {
    /// The device's ID: its virtual target device name (`vtscsi0`, `vtopt0`).
    pub device: String,
    /// Bytes read.
    pub rd_bytes: u64,
    /// Bytes written.
    pub wr_bytes: u64,
}

/// Every block device's counters (`query-blockstats`), named by device ID.
pub fn block_stats(q: &Qmp) -> Result<Vec<BlockStats>, QmpError> {
    let v = q.execute("query-blockstats", Value::Null)?;
    Ok(parse_block_stats(&v))
}

fn parse_block_stats(v: &Value) -> Vec<BlockStats> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            // "qdev" is the device's ID, or its QOM path (/machine/peripheral/ID/...).
            let qdev = d.get("qdev")?.as_str()?;
            let id = qdev
                .strip_prefix("/machine/peripheral/")
                .unwrap_or(qdev)
                .split('/')
                .next()?;
            let stats = d.get("stats")?;
            let n = |k: &str| stats.get(k).and_then(Value::as_u64).unwrap_or(0);
            (!id.is_empty()).then(|| BlockStats {
                device: id.to_string(),
                rd_bytes: n("rd_bytes"),
                wr_bytes: n("wr_bytes"),
            })
        })
        .collect()
}

#[cfg(test)]
mod block_stats_tests {
    use super::*;

    #[test]
    fn counters_named_by_device_id() {
        let v = json!([
            {"device": "", "qdev": "vtscsi0", "node-name": "vtscsi0",
             "stats": {"rd_bytes": 4096, "wr_bytes": 512, "rd_operations": 1}},
            {"device": "", "qdev": "/machine/peripheral/vtopt0/virtio-backend",
             "stats": {"rd_bytes": 2048, "wr_bytes": 0}},
            {"device": "", "node-name": "orphan", "stats": {"rd_bytes": 1}}
        ]);
        assert_eq!(
            parse_block_stats(&v),
            vec![
                BlockStats {
                    device: "vtscsi0".into(),
                    rd_bytes: 4096,
                    wr_bytes: 512
                },
                BlockStats {
                    device: "vtopt0".into(),
                    rd_bytes: 2048,
                    wr_bytes: 0
                },
            ]
        );
    }
}

#[cfg(test)]
mod jit_tests {
    use super::*;

    #[test]
    fn info_jit_gives_the_generated_code_and_the_capacity() {
        let text = "Accelerator settings:\r\none-insn-per-tb: off\r\n\r\nTranslation buffer state:\r\ngen code size       60936979/67026944\r\nTB count            107016\r\n";
        assert_eq!(parse_jit(text), Some((60_936_979, 67_026_944)));
        assert_eq!(
            parse_jit("JIT information is only available with accel=tcg"),
            None
        );
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn run_states_are_read_by_their_qmp_names() {
        assert_eq!(RunStatus::from_qmp("running"), RunStatus::Running);
        assert_eq!(RunStatus::from_qmp("prelaunch"), RunStatus::Prelaunch);
        assert_eq!(RunStatus::from_qmp("paused"), RunStatus::Paused);
        assert_eq!(RunStatus::from_qmp("shutdown"), RunStatus::Shutdown);
        assert_eq!(RunStatus::from_qmp("inmigrate"), RunStatus::InMigrate);
        assert_eq!(RunStatus::from_qmp("postmigrate"), RunStatus::Migrated);
        assert_eq!(RunStatus::from_qmp("finish-migrate"), RunStatus::Migrated);
        assert_eq!(
            RunStatus::from_qmp("guest-panicked"),
            RunStatus::Other("guest-panicked".into())
        );
    }
}

/// The partition's screen as a PNG, as QEMU's display adapter `video0` shows it. QEMU writes
/// into an anonymous memory file it is lent by descriptor, so nothing lands on a disk and no
/// path QEMU could redirect is ever read by the daemon.
pub fn screendump_png(q: &Qmp) -> Result<Vec<u8>, QmpError> {
    use std::io::{Read, Seek};
    use std::os::unix::io::{AsRawFd, FromRawFd};
    let io = |e: std::io::Error| QmpError::Io(format!("screen buffer: {e}"));
    // SAFETY: memfd_create takes a NUL-terminated name and flags; the descriptor it returns
    // is owned by the File from here on.
    let fd = unsafe { libc::memfd_create(c"ivm-screen".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    let mut buffer = unsafe { std::fs::File::from_raw_fd(fd) };
    // QEMU opens descriptor-set members by access mode: it asks for write-only.
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))
        .map_err(io)?;
    let added = q.execute_with_fd("add-fd", json!({"opaque": "screen"}), writer.as_raw_fd())?;
    let set = added
        .get("fdset-id")
        .and_then(Value::as_u64)
        .ok_or_else(|| QmpError::Protocol(format!("add-fd answered {added}")))?;
    let dumped = q.execute(
        "screendump",
        json!({"filename": format!("/dev/fdset/{set}"), "format": "png", "device": "video0"}),
    );
    let removed = q.execute("remove-fd", json!({"fdset-id": set}));
    dumped?;
    removed?;
    let mut png = Vec::new();
    buffer.rewind().map_err(io)?;
    buffer.read_to_end(&mut png).map_err(io)?;
    Ok(png)
}
