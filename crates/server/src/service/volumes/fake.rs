//! LVM2 and mounts in memory for the storage component's unit tests: volume groups on
//! devices, logical volumes, ext4 filesystems and mounts, and a failure injected at any one
//! call, so each undo path is checked without root or block devices.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::super::fake::Journal;
use super::VolumeHost;
use crate::runtime::HostError;

/// MB each device gives its volume group (LVM keeps a little for its metadata).
pub const DEVICE_MB: u64 = 1020;

/// One volume group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeVg {
    /// Its physical volumes' devices.
    pub devices: BTreeSet<String>,
    /// Its logical volumes and their sizes, MB.
    pub lvs: BTreeMap<String, u64>,
}

/// What the fake host has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumesState {
    /// Volume groups by name.
    pub vgs: BTreeMap<String, FakeVg>,
    /// Devices with an ext4 filesystem.
    pub ext4: BTreeSet<PathBuf>,
    /// Mounts: directory -> device.
    pub mounts: BTreeMap<PathBuf, PathBuf>,
}

#[derive(Default)]
struct Inner {
    state: VolumesState,
    journal: Journal,
}

/// LVM and mounts in memory.
#[derive(Default)]
pub struct FakeVolumes {
    inner: Mutex<Inner>,
}

fn refused(what: &str, why: &str) -> HostError {
    HostError::Failed(format!("{what}: {why}"))
}

impl FakeVolumes {
    /// What the host has now.
    pub fn snapshot(&self) -> VolumesState {
        self.inner.lock().unwrap().state.clone()
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().journal.calls()
    }

    /// Makes the `n`th call from now fail (0: the next), before it does anything.
    pub fn fail_after(&self, n: usize) {
        self.inner.lock().unwrap().journal.fail_after(n);
    }

    fn call<T>(
        &self,
        what: String,
        f: impl FnOnce(&mut VolumesState) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        let mut i = self.inner.lock().unwrap();
        i.journal.record(&what).map_err(HostError::Failed)?;
        f(&mut i.state)
    }
}

fn vg<'a>(s: &'a mut VolumesState, name: &str) -> Result<&'a mut FakeVg, HostError> {
    s.vgs
        .get_mut(name)
        .ok_or_else(|| refused(name, "no such volume group"))
}

fn lv_path(vg: &str, lv: &str) -> PathBuf {
    Path::new("/dev").join(vg).join(lv)
}

impl VolumeHost for FakeVolumes {
    fn device_mapper(&self) -> bool {
        true
    }

    fn vg_size_mb(&self, name: &str) -> Result<u64, HostError> {
        self.call(format!("vg_size_mb {name}"), |s| {
            Ok(vg(s, name)?.devices.len() as u64 * DEVICE_MB)
        })
    }

    fn create_vg(&self, name: &str, devices: &[String], _force: bool) -> Result<(), HostError> {
        self.call(format!("create_vg {name}"), |s| {
            if s.vgs.contains_key(name) {
                return Err(refused(name, "volume group exists"));
            }
            if devices
                .iter()
                .any(|d| s.vgs.values().any(|v| v.devices.contains(d)))
            {
                return Err(refused(name, "a device is in another volume group"));
            }
            s.vgs.insert(
                name.to_string(),
                FakeVg {
                    devices: devices.iter().cloned().collect(),
                    lvs: BTreeMap::new(),
                },
            );
            Ok(())
        })
    }

    fn extend_vg(&self, name: &str, device: &str, _force: bool) -> Result<(), HostError> {
        self.call(format!("extend_vg {name} {device}"), |s| {
            if s.vgs.values().any(|v| v.devices.contains(device)) {
                return Err(refused(device, "in a volume group already"));
            }
            vg(s, name)?.devices.insert(device.to_string());
            Ok(())
        })
    }

    fn reduce_vg(&self, name: &str, device: &str) -> Result<(), HostError> {
        self.call(format!("reduce_vg {name} {device}"), |s| {
            let v = vg(s, name)?;
            if v.devices.len() == 1 && v.devices.contains(device) {
                return Err(refused(device, "the last physical volume of its group"));
            }
            v.devices.remove(device);
            Ok(())
        })
    }

    fn remove_vg(&self, name: &str, _devices: &[String]) -> Result<(), HostError> {
        self.call(format!("remove_vg {name}"), |s| {
            s.vgs.remove(name);
            Ok(())
        })
    }

    fn create_lv(&self, name: &str, lv: &str, size_mb: u64) -> Result<(), HostError> {
        self.call(format!("create_lv {name} {lv}"), |s| {
            let v = vg(s, name)?;
            if v.lvs.contains_key(lv) {
                return Err(refused(lv, "logical volume exists"));
            }
            v.lvs.insert(lv.to_string(), size_mb);
            Ok(())
        })
    }

    fn grow_lv(&self, name: &str, lv: &str, size_mb: u64) -> Result<(), HostError> {
        self.call(format!("grow_lv {name} {lv}"), |s| {
            let v = vg(s, name)?;
            let l = v
                .lvs
                .get_mut(lv)
                .ok_or_else(|| refused(lv, "no such logical volume"))?;
            *l = size_mb;
            Ok(())
        })
    }

    fn rename_lv(&self, name: &str, from: &str, to: &str) -> Result<(), HostError> {
        self.call(format!("rename_lv {name} {from} {to}"), |s| {
            let v = vg(s, name)?;
            let size = v
                .lvs
                .remove(from)
                .ok_or_else(|| refused(from, "no such logical volume"))?;
            v.lvs.insert(to.to_string(), size);
            Ok(())
        })
    }

    fn remove_lv(&self, name: &str, lv: &str) -> Result<(), HostError> {
        self.call(format!("remove_lv {name} {lv}"), |s| {
            let dev = lv_path(name, lv);
            if s.mounts.values().any(|d| *d == dev) {
                return Err(refused(lv, "logical volume is in use (mounted)"));
            }
            vg(s, name)?.lvs.remove(lv);
            s.ext4.remove(&dev);
            Ok(())
        })
    }

    fn lv_path(&self, vg: &str, lv: &str) -> PathBuf {
        lv_path(vg, lv)
    }

    fn lv_exists(&self, name: &str, lv: &str) -> bool {
        let i = self.inner.lock().unwrap();
        i.state
            .vgs
            .get(name)
            .is_some_and(|v| v.lvs.contains_key(lv))
    }

    fn make_ext4(&self, device: &Path) -> Result<(), HostError> {
        self.call(format!("make_ext4 {}", device.display()), |s| {
            s.ext4.insert(device.to_path_buf());
            Ok(())
        })
    }

    fn grow_ext4(&self, device: &Path) -> Result<(), HostError> {
        self.call(format!("grow_ext4 {}", device.display()), |_| Ok(()))
    }

    fn mount_ext4(&self, device: &Path, dir: &Path) -> Result<(), HostError> {
        self.call(format!("mount_ext4 {}", dir.display()), |s| {
            if !s.ext4.contains(device) {
                return Err(refused(&device.display().to_string(), "no ext4 filesystem"));
            }
            s.mounts.insert(dir.to_path_buf(), device.to_path_buf());
            Ok(())
        })
    }

    fn unmount(&self, dir: &Path) -> Result<(), HostError> {
        self.call(format!("unmount {}", dir.display()), |s| {
            s.mounts.remove(dir);
            Ok(())
        })
    }
}
