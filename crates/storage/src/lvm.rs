//! LVM2 volume groups through the `lvm` tools, whose reports are read as JSON
//! (`--reportformat json`), never as column text.

use std::process::Command;

use serde_json::Value;

/// An `lvm` command that failed, with what it said.
#[derive(Debug, thiserror::Error)]
#[error("lvm {command} failed: {message}")]
pub struct LvmError {
    /// The lvm subcommand.
    pub command: String,
    /// Its own message (stderr), or why it could not run.
    pub message: String,
}

/// A volume group as `vgs` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VgReport {
    /// The volume group's name.
    pub name: String,
    /// Size, MB.
    pub size_mb: u64,
    /// Free, MB.
    pub free_mb: u64,
    /// Extent (physical partition) size, MB.
    pub extent_mb: u64,
    /// Physical volumes in it.
    pub pv_count: u32,
    /// Logical volumes in it.
    pub lv_count: u32,
}

/// A physical volume as `pvs` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvReport {
    /// Device path.
    pub device: String,
    /// Its volume group, empty when none.
    pub vg: String,
    /// Size, MB.
    pub size_mb: u64,
}

fn lvm(args: &[&str]) -> Result<String, LvmError> {
    ivm_txguard::host_action("lvm").map_err(|e| LvmError {
        command: args.first().unwrap_or(&"").to_string(),
        message: e.to_string(),
    })?;
    let out = Command::new("lvm")
        .args(args)
        // ivm's own descriptors (sockets, the database) are none of lvm's business.
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .map_err(|e| LvmError {
            command: args.first().unwrap_or(&"").to_string(),
            message: format!("cannot run lvm ({e}); install lvm2"),
        })?;
    if !out.status.success() {
        return Err(LvmError {
            command: args.first().unwrap_or(&"").to_string(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn num(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map_or(0, |f| f.floor() as u64)
}

fn report(json: &str, command: &str) -> Result<Value, LvmError> {
    serde_json::from_str(json).map_err(|e| LvmError {
        command: command.into(),
        message: format!("unreadable report: {e}"),
    })
}

fn rows<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report
        .pointer("/report/0")
        .and_then(|r| r.get(kind))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Parses `vgs --reportformat json --units m --nosuffix -o vg_name,vg_size,vg_free,
/// vg_extent_size,pv_count,lv_count`.
pub fn parse_vgs(json: &str) -> Result<Vec<VgReport>, LvmError> {
    let v = report(json, "vgs")?;
    Ok(rows(&v, "vg")
        .into_iter()
        .map(|r| VgReport {
            name: r["vg_name"].as_str().unwrap_or_default().to_string(),
            size_mb: num(r, "vg_size"),
            free_mb: num(r, "vg_free"),
            extent_mb: num(r, "vg_extent_size"),
            pv_count: num(r, "pv_count") as u32,
            lv_count: num(r, "lv_count") as u32,
        })
        .collect())
}

/// Parses `pvs --reportformat json --units m --nosuffix -o pv_name,vg_name,pv_size`.
pub fn parse_pvs(json: &str) -> Result<Vec<PvReport>, LvmError> {
    let v = report(json, "pvs")?;
    Ok(rows(&v, "pv")
        .into_iter()
        .map(|r| PvReport {
            device: r["pv_name"].as_str().unwrap_or_default().to_string(),
            vg: r["vg_name"].as_str().unwrap_or_default().to_string(),
            size_mb: num(r, "pv_size"),
        })
        .collect())
}

/// The volume group `name`.
pub fn vg(name: &str) -> Result<VgReport, LvmError> {
    let out = lvm(&[
        "vgs",
        "--reportformat",
        "json",
        "--units",
        "m",
        "--nosuffix",
        "-o",
        "vg_name,vg_size,vg_free,vg_extent_size,pv_count,lv_count",
        name,
    ])?;
    parse_vgs(&out)?.into_iter().next().ok_or(LvmError {
        command: "vgs".into(),
        message: format!("no volume group {name}"),
    })
}

/// Every physical volume LVM knows.
pub fn pvs() -> Result<Vec<PvReport>, LvmError> {
    let out = lvm(&[
        "pvs",
        "--reportformat",
        "json",
        "--units",
        "m",
        "--nosuffix",
        "-o",
        "pv_name,vg_name,pv_size",
    ])?;
    parse_pvs(&out)
}

/// Makes volume group `name` of `devices` (each made a physical volume first; `force`
/// overwrites what a device held).
pub fn create_vg(name: &str, devices: &[String], force: bool) -> Result<(), LvmError> {
    for d in devices {
        let mut args = vec!["pvcreate", "-y"];
        if force {
            args.push("-ff");
        }
        args.push(d);
        lvm(&args)?;
    }
    let mut args = vec!["vgcreate", "-y", name];
    args.extend(devices.iter().map(String::as_str));
    lvm(&args).map(|_| ())
}

/// Adds a device to a volume group.
pub fn extend_vg(name: &str, device: &str, force: bool) -> Result<(), LvmError> {
    let mut args = vec!["pvcreate", "-y"];
    if force {
        args.push("-ff");
    }
    args.push(device);
    lvm(&args)?;
    lvm(&["vgextend", "-y", name, device]).map(|_| ())
}

/// Takes a device out of a volume group (LVM refuses while logical volumes use it).
pub fn reduce_vg(name: &str, device: &str) -> Result<(), LvmError> {
    lvm(&["vgreduce", "-y", name, device])?;
    lvm(&["pvremove", "-y", device]).map(|_| ())
}

/// Removes a volume group and wipes its physical volumes' labels.
pub fn remove_vg(name: &str, devices: &[String]) -> Result<(), LvmError> {
    lvm(&["vgremove", "-y", name])?;
    for d in devices {
        lvm(&["pvremove", "-y", d])?;
    }
    Ok(())
}

/// Makes logical volume `lv` of `size_mb` in `vg` (needs device-mapper).
pub fn create_lv(vg: &str, lv: &str, size_mb: u64) -> Result<(), LvmError> {
    lvm(&["lvcreate", "-y", "-n", lv, "-L", &format!("{size_mb}m"), vg]).map(|_| ())
}

/// Grows a logical volume to `size_mb`.
pub fn grow_lv(vg: &str, lv: &str, size_mb: u64) -> Result<(), LvmError> {
    lvm(&[
        "lvextend",
        "-L",
        &format!("{size_mb}m"),
        &format!("{vg}/{lv}"),
    ])
    .map(|_| ())
}

/// Renames a logical volume.
pub fn rename_lv(vg: &str, from: &str, to: &str) -> Result<(), LvmError> {
    lvm(&["lvrename", vg, from, to]).map(|_| ())
}

/// Removes a logical volume.
pub fn remove_lv(vg: &str, lv: &str) -> Result<(), LvmError> {
    lvm(&["lvremove", "-y", &format!("{vg}/{lv}")]).map(|_| ())
}

/// The block device of a logical volume.
pub fn lv_path(vg: &str, lv: &str) -> std::path::PathBuf {
    std::path::Path::new("/dev").join(vg).join(lv)
}

/// Whether this host's kernel has device-mapper, which logical volumes need. (The
/// `/dev/mapper/control` node alone proves nothing: lvm2's package makes it either way.)
pub fn device_mapper_available() -> bool {
    std::fs::read_to_string("/proc/misc")
        .is_ok_and(|m| m.lines().any(|l| l.trim_end().ends_with(" device-mapper")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from lvm2 2.03.16 (Debian 12) on a 200 MB loop device.
    const VGS: &str = r#"  {
      "report": [
          {
              "vg": [
                  {"vg_name":"ivmtestvg", "vg_size":"196.00", "vg_free":"196.00", "vg_extent_size":"4.00", "pv_count":"1", "lv_count":"0"}
              ]
          }
      ]
  }
"#;
    const PVS: &str = r#"  {
      "report": [
          {
              "pv": [
                  {"pv_name":"/dev/loop0", "vg_name":"ivmtestvg", "pv_size":"196.00", "pv_free":"196.00", "pv_uuid":"RO6ck8-syY0-YctF-9AWs-xXpG-6lec-7TIRZ0"},
                  {"pv_name":"/dev/loop1", "vg_name":"", "pv_size":"99.50", "pv_free":"99.50", "pv_uuid":"x"}
              ]
          }
      ]
  }
"#;

    #[test]
    fn reports_parse_from_real_lvm_output() {
        assert_eq!(
            parse_vgs(VGS).unwrap(),
            vec![VgReport {
                name: "ivmtestvg".into(),
                size_mb: 196,
                free_mb: 196,
                extent_mb: 4,
                pv_count: 1,
                lv_count: 0,
            }]
        );
        let pvs = parse_pvs(PVS).unwrap();
        assert_eq!(pvs[0].device, "/dev/loop0");
        assert_eq!(pvs[0].vg, "ivmtestvg");
        assert_eq!(pvs[1].vg, "");
        assert_eq!(pvs[1].size_mb, 99);
        assert!(parse_vgs("not json").is_err());
        assert_eq!(parse_vgs(r#"{"report":[{"vg":[]}]}"#).unwrap(), vec![]);
    }
}
