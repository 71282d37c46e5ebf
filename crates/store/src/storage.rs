//! Storage pools, virtual disks, virtual SCSI server adapters and mappings.

use ivm_model::{BackingDevice, BackingKind, Hdisk, Mapping, StoragePool, VirtualScsiAdapter};
use rusqlite::{params, OptionalExtension, Row};

use crate::tx::{corrupt, Tx};
use crate::StoreError;

/// Where a virtual disk's file is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskState {
    /// In use.
    Ready,
    /// Its file is being made: at start, an unfinished one is removed.
    Creating,
    /// Its file is being removed: at start, the removal is finished.
    Removing,
}

impl DiskState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DiskState::Ready => "ready",
            DiskState::Creating => "creating",
            DiskState::Removing => "removing",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<DiskState, StoreError> {
        match s {
            "ready" => Ok(DiskState::Ready),
            "creating" => Ok(DiskState::Creating),
            "removing" => Ok(DiskState::Removing),
            other => Err(corrupt(format!("virtual disk state {other}"))),
        }
    }
}

type PoolRow = (String, String, u64, String, bool, bool, Option<String>);

fn pool_row(r: &Row) -> rusqlite::Result<PoolRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

impl Tx<'_> {
    /// Every storage pool, by name.
    pub fn pools(&self) -> Result<Vec<StoragePool>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT name, kind, size_mb, path, thin, is_default, rbd FROM storage_pools ORDER BY name",
        )?;
        let rows = st.query_map([], pool_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (name, kind, size_mb, path, thin, default, rbd) = row?;
            out.push(StoragePool {
                name,
                kind: kind.parse().map_err(corrupt)?,
                size_mb,
                path,
                thin,
                default,
                rbd: rbd
                    .map(|j| serde_json::from_str(&j))
                    .transpose()
                    .map_err(|e| corrupt(format!("storage pool location: {e}")))?,
            });
        }
        Ok(out)
    }

    /// Adds or replaces a pool.
    pub fn put_pool(&self, p: &StoragePool) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO storage_pools (name, kind, size_mb, path, thin, is_default, rbd) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, size_mb = excluded.size_mb, \
             path = excluded.path, thin = excluded.thin, is_default = excluded.is_default, rbd = excluded.rbd",
            params![
                p.name,
                p.kind.as_str(),
                p.size_mb,
                p.path,
                p.thin,
                p.default,
                p.rbd
                    .as_ref()
                    .map(|l| serde_json::to_string(l).unwrap_or_default())
            ],
        )?;
        Ok(())
    }

    /// Keeps the key of pool `name` (a Ceph user's secret).
    pub fn set_pool_secret(&self, name: &str, secret: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE storage_pools SET secret = ?2 WHERE name = ?1",
            params![name, secret],
        )?;
        Ok(())
    }

    /// The key of pool `name`, if it has one.
    pub fn pool_secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT secret FROM storage_pools WHERE name = ?1",
                [name],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Removes a pool.
    pub fn delete_pool(&self, name: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM storage_pools WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Every virtual disk with its state, by name.
    pub fn disks_with_state(&self) -> Result<Vec<(BackingDevice, DiskState)>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT name, pool, size_mb, state FROM backing_devices ORDER BY name",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, pool, size_mb, state) = row?;
            out.push((
                BackingDevice {
                    name,
                    pool,
                    size_mb,
                },
                DiskState::parse(&state)?,
            ));
        }
        Ok(out)
    }

    /// Every virtual disk that exists or is being made (all of them commit their size).
    pub fn disks(&self) -> Result<Vec<BackingDevice>, StoreError> {
        Ok(self
            .disks_with_state()?
            .into_iter()
            .map(|(d, _)| d)
            .collect())
    }

    /// Adds or replaces a virtual disk, in `state`.
    pub fn put_disk(&self, d: &BackingDevice, state: DiskState) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO backing_devices (name, pool, size_mb, state) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(name) DO UPDATE SET pool = excluded.pool, size_mb = excluded.size_mb, state = excluded.state",
            params![d.name, d.pool, d.size_mb, state.as_str()],
        )?;
        Ok(())
    }

    /// Renames a virtual disk (and its mapping's backing).
    pub fn rename_disk(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE backing_devices SET name = ?2 WHERE name = ?1",
            params![from, to],
        )?;
        self.tx.execute(
            "UPDATE mappings SET backing = ?2 WHERE backing = ?1 AND kind = 'lv'",
            params![from, to],
        )?;
        Ok(())
    }

    /// Removes a virtual disk's row.
    pub fn delete_disk(&self, name: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM backing_devices WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Every virtual SCSI server adapter, by vhost number.
    pub fn adapters(&self) -> Result<Vec<VirtualScsiAdapter>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT vhost, lpar_id, client_slot, server_slot FROM vscsi_adapters ORDER BY vhost",
        )?;
        let rows = st.query_map([], |r| {
            Ok(VirtualScsiAdapter {
                vhost: r.get(0)?,
                lpar_id: r.get(1)?,
                client_slot: r.get(2)?,
                server_slot: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds an adapter.
    pub fn put_adapter(&self, a: &VirtualScsiAdapter) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO vscsi_adapters (vhost, lpar_id, client_slot, server_slot) VALUES (?1, ?2, ?3, ?4)",
            params![a.vhost, a.lpar_id, a.client_slot, a.server_slot],
        )?;
        Ok(())
    }

    /// Every mapping, by virtual target device.
    pub fn mappings(&self) -> Result<Vec<Mapping>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT m.vtd, a.lpar_id, m.vhost, m.lun, m.backing, m.kind FROM mappings m \
             JOIN vscsi_adapters a ON a.vhost = m.vhost ORDER BY m.vhost, m.lun",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (vtd, lpar_id, vhost, lun, backing, kind) = row?;
            let kind = match kind.as_str() {
                "lv" => BackingKind::Lv,
                "disk" => BackingKind::Disk,
                other => return Err(corrupt(format!("mapping kind {other}"))),
            };
            out.push(Mapping {
                vtd,
                lpar_id,
                vhost,
                lun,
                backing,
                kind,
            });
        }
        Ok(out)
    }

    /// Adds a mapping.
    pub fn put_mapping(&self, m: &Mapping) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO mappings (vtd, vhost, lun, backing, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![m.vtd, m.vhost, m.lun, m.backing, m.kind.as_str()],
        )?;
        Ok(())
    }

    /// Removes a mapping; the mapping that was there, if any.
    pub fn delete_mapping(&self, vtd: &str) -> Result<Option<Mapping>, StoreError> {
        let m = self.mappings()?.into_iter().find(|m| m.vtd == vtd);
        self.tx
            .execute("DELETE FROM mappings WHERE vtd = ?1", [vtd])?;
        Ok(m)
    }

    /// A pool by name.
    pub fn pool(&self, name: &str) -> Result<Option<StoragePool>, StoreError> {
        let row = self
            .tx
            .query_row(
                "SELECT name FROM storage_pools WHERE name = ?1",
                [name],
                |r| r.get::<_, String>(0),
            )
            .optional()?;
        Ok(match row {
            Some(_) => self.pools()?.into_iter().find(|p| p.name == name),
            None => None,
        })
    }

    /// Every physical volume ivm has named, by number.
    pub fn hdisks(&self) -> Result<Vec<Hdisk>, StoreError> {
        let mut st = self
            .tx
            .prepare_cached("SELECT name, id, device, size_mb, present, pvid FROM hdisks")?;
        let rows = st.query_map([], |r| {
            Ok(Hdisk {
                name: r.get(0)?,
                id: r.get(1)?,
                device: r.get(2)?,
                size_mb: r.get(3)?,
                present: r.get(4)?,
                pvid: r.get(5)?,
            })
        })?;
        let mut out: Vec<Hdisk> = rows.collect::<Result<_, _>>()?;
        out.sort_by_key(|h| {
            h.name
                .strip_prefix("hdisk")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        });
        Ok(out)
    }

    /// Replaces the physical volume list with a scan's.
    pub fn put_hdisks(&self, hdisks: &[Hdisk]) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM hdisks", [])?;
        for h in hdisks {
            self.tx.execute(
                "INSERT INTO hdisks (name, id, device, size_mb, present, pvid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![h.name, h.id, h.device, h.size_mb, h.present, h.pvid],
            )?;
        }
        Ok(())
    }

    /// The physical volumes of volume group pools: (hdisk, pool).
    pub fn pool_members(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self
            .tx
            .prepare_cached("SELECT hdisk, pool FROM pool_members ORDER BY pool, hdisk")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that `hdisk` belongs to `pool` (or, with `None`, to no pool).
    pub fn set_pool_member(&self, hdisk: &str, pool: Option<&str>) -> Result<(), StoreError> {
        match pool {
            Some(p) => self.tx.execute(
                "INSERT INTO pool_members (hdisk, pool) VALUES (?1, ?2) \
                 ON CONFLICT(hdisk) DO UPDATE SET pool = excluded.pool",
                params![hdisk, p],
            )?,
            None => self
                .tx
                .execute("DELETE FROM pool_members WHERE hdisk = ?1", [hdisk])?,
        };
        Ok(())
    }
}
