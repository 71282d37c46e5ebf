//! The virtual media library's media and the virtual optical devices they load into.

use ivm_model::{MediaAccess, OpticalDevice, OpticalMedia};
use rusqlite::params;

use crate::storage::DiskState;
use crate::tx::{corrupt, Tx};
use crate::StoreError;

impl Tx<'_> {
    /// Every medium with the state of its file (being copied, ready, being removed), by name.
    pub fn media_with_state(&self) -> Result<Vec<(OpticalMedia, DiskState)>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT name, size_mb, access, state FROM optical_media ORDER BY name",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, size_mb, access, state) = row?;
            let access: MediaAccess = access.parse().map_err(corrupt)?;
            out.push((
                OpticalMedia {
                    name,
                    size_mb,
                    access,
                },
                DiskState::parse(&state)?,
            ));
        }
        Ok(out)
    }

    /// Every medium (whatever its state: all of them take room in the repository).
    pub fn media(&self) -> Result<Vec<OpticalMedia>, StoreError> {
        Ok(self
            .media_with_state()?
            .into_iter()
            .map(|(m, _)| m)
            .collect())
    }

    /// Adds or replaces a medium, in `state`.
    pub fn put_media(&self, m: &OpticalMedia, state: DiskState) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO optical_media (name, size_mb, access, state) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(name) DO UPDATE SET size_mb = excluded.size_mb, access = excluded.access, state = excluded.state",
            params![m.name, m.size_mb, m.access.as_str(), state.as_str()],
        )?;
        Ok(())
    }

    /// Renames a medium (the devices it is loaded in follow).
    pub fn rename_media(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE optical_media SET name = ?2 WHERE name = ?1",
            params![from, to],
        )?;
        Ok(())
    }

    /// Removes a medium.
    pub fn delete_media(&self, name: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM optical_media WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Every virtual optical device, by adapter and LUN.
    pub fn optical_devices(&self) -> Result<Vec<OpticalDevice>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT o.vtd, a.lpar_id, o.vhost, o.lun, o.media FROM optical_devices o \
             JOIN vscsi_adapters a ON a.vhost = o.vhost ORDER BY o.vhost, o.lun",
        )?;
        let rows = st.query_map([], |r| {
            Ok(OpticalDevice {
                vtd: r.get(0)?,
                lpar_id: r.get(1)?,
                vhost: r.get(2)?,
                lun: r.get(3)?,
                media: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds or replaces a virtual optical device (with what it holds).
    pub fn put_optical(&self, o: &OpticalDevice) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO optical_devices (vtd, vhost, lun, media) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(vtd) DO UPDATE SET vhost = excluded.vhost, lun = excluded.lun, media = excluded.media",
            params![o.vtd, o.vhost, o.lun, o.media],
        )?;
        Ok(())
    }

    /// Removes a virtual optical device.
    pub fn delete_optical(&self, vtd: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM optical_devices WHERE vtd = ?1", [vtd])?;
        Ok(())
    }
}
