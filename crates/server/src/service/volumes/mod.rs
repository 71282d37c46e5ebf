//! What the storage component asks of the host's volume manager, as a trait: LVM2 volume
//! groups and logical volumes, and ext4 on a logical volume. The Linux implementation goes
//! through `ivm_storage::{lvm, mounts}`; the unit tests give the service an LVM in memory,
//! so the undo paths of volume group pools run without root or block devices.

#[cfg(test)]
pub(crate) mod fake;

use std::path::{Path, PathBuf};

use crate::runtime::HostError;

/// LVM2 and ext4, as the storage component uses them.
pub(crate) trait VolumeHost: Send + Sync {
    /// Whether logical volumes can be activated (device-mapper present).
    fn device_mapper(&self) -> bool;
    /// The size of volume group `vg`, MB.
    fn vg_size_mb(&self, vg: &str) -> Result<u64, HostError>;
    /// Makes volume group `vg` on `devices`.
    fn create_vg(&self, vg: &str, devices: &[String], force: bool) -> Result<(), HostError>;
    /// Adds `device` to volume group `vg`.
    fn extend_vg(&self, vg: &str, device: &str, force: bool) -> Result<(), HostError>;
    /// Takes `device` out of volume group `vg`.
    fn reduce_vg(&self, vg: &str, device: &str) -> Result<(), HostError>;
    /// Removes volume group `vg` and the LVM labels of `devices`.
    fn remove_vg(&self, vg: &str, devices: &[String]) -> Result<(), HostError>;
    /// Makes logical volume `lv` of `size_mb` in `vg`.
    fn create_lv(&self, vg: &str, lv: &str, size_mb: u64) -> Result<(), HostError>;
    /// Grows logical volume `lv` to `size_mb`.
    fn grow_lv(&self, vg: &str, lv: &str, size_mb: u64) -> Result<(), HostError>;
    /// Renames logical volume `from` to `to`.
    fn rename_lv(&self, vg: &str, from: &str, to: &str) -> Result<(), HostError>;
    /// Removes logical volume `lv`.
    fn remove_lv(&self, vg: &str, lv: &str) -> Result<(), HostError>;
    /// The block device of logical volume `lv`.
    fn lv_path(&self, vg: &str, lv: &str) -> PathBuf;
    /// Whether logical volume `lv` exists.
    fn lv_exists(&self, vg: &str, lv: &str) -> bool;
    /// Makes an ext4 filesystem on `device`.
    fn make_ext4(&self, device: &Path) -> Result<(), HostError>;
    /// Grows the ext4 filesystem on `device` to the device's size.
    fn grow_ext4(&self, device: &Path) -> Result<(), HostError>;
    /// Mounts the ext4 filesystem of `device` on `dir` (made if missing; mounted is fine).
    fn mount_ext4(&self, device: &Path, dir: &Path) -> Result<(), HostError>;
    /// Unmounts `dir` (not mounted is fine).
    fn unmount(&self, dir: &Path) -> Result<(), HostError>;
}

/// The host's LVM tools and mounts.
pub(crate) struct LinuxVolumes;

impl VolumeHost for LinuxVolumes {
    fn device_mapper(&self) -> bool {
        ivm_storage::lvm::device_mapper_available()
    }
    fn vg_size_mb(&self, vg: &str) -> Result<u64, HostError> {
        Ok(ivm_storage::lvm::vg(vg)?.size_mb)
    }
    fn create_vg(&self, vg: &str, devices: &[String], force: bool) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::create_vg(vg, devices, force)?)
    }
    fn extend_vg(&self, vg: &str, device: &str, force: bool) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::extend_vg(vg, device, force)?)
    }
    fn reduce_vg(&self, vg: &str, device: &str) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::reduce_vg(vg, device)?)
    }
    fn remove_vg(&self, vg: &str, devices: &[String]) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::remove_vg(vg, devices)?)
    }
    fn create_lv(&self, vg: &str, lv: &str, size_mb: u64) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::create_lv(vg, lv, size_mb)?)
    }
    fn grow_lv(&self, vg: &str, lv: &str, size_mb: u64) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::grow_lv(vg, lv, size_mb)?)
    }
    fn rename_lv(&self, vg: &str, from: &str, to: &str) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::rename_lv(vg, from, to)?)
    }
    fn remove_lv(&self, vg: &str, lv: &str) -> Result<(), HostError> {
        Ok(ivm_storage::lvm::remove_lv(vg, lv)?)
    }
    fn lv_path(&self, vg: &str, lv: &str) -> PathBuf {
        ivm_storage::lvm::lv_path(vg, lv)
    }
    fn lv_exists(&self, vg: &str, lv: &str) -> bool {
        ivm_storage::lvm::lv_path(vg, lv).exists()
    }
    fn make_ext4(&self, device: &Path) -> Result<(), HostError> {
        Ok(ivm_storage::mounts::make_ext4(device)?)
    }
    fn grow_ext4(&self, device: &Path) -> Result<(), HostError> {
        Ok(ivm_storage::mounts::grow_ext4(device)?)
    }
    fn mount_ext4(&self, device: &Path, dir: &Path) -> Result<(), HostError> {
        Ok(ivm_storage::mounts::mount_ext4(device, dir)?)
    }
    fn unmount(&self, dir: &Path) -> Result<(), HostError> {
        Ok(ivm_storage::mounts::unmount(dir)?)
    }
}
