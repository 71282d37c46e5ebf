//! The shared memory pool and its paging devices.

use ivm_model::{MemPool, PagingPv, PagingVolume};
use rusqlite::{params, OptionalExtension};

use crate::{StoreError, Tx};

impl Tx<'_> {
    /// The shared memory pool, if one exists.
    pub fn mem_pool(&self) -> Result<Option<MemPool>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT pool_mem, max_pool_mem, paging_storage_pool FROM mem_pool WHERE id = 1",
                [],
                |r| {
                    Ok(MemPool {
                        pool_mem: r.get(0)?,
                        max_pool_mem: r.get(1)?,
                        paging_storage_pool: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Creates, changes (`Some`) or removes (`None`) the shared memory pool.
    pub fn put_mem_pool(&self, pool: Option<&MemPool>) -> Result<(), StoreError> {
        match pool {
            Some(p) => self.tx.execute(
                "INSERT INTO mem_pool (id, pool_mem, max_pool_mem, paging_storage_pool) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET pool_mem = excluded.pool_mem,
                 max_pool_mem = excluded.max_pool_mem, paging_storage_pool = excluded.paging_storage_pool",
                params![p.pool_mem, p.max_pool_mem, p.paging_storage_pool],
            )?,
            None => self.tx.execute("DELETE FROM mem_pool", [])?,
        };
        Ok(())
    }

    /// Backing devices made as paging devices, by partition.
    pub fn paging_devices(&self) -> Result<Vec<PagingVolume>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT name, size_mb, paging_lpar FROM backing_devices \
             WHERE paging_lpar IS NOT NULL ORDER BY paging_lpar",
        )?;
        let rows = st.query_map([], |r| {
            Ok(PagingVolume {
                name: r.get(0)?,
                size_mb: r.get(1)?,
                lpar_id: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes a backing device the paging device of partition `lpar` (`Some`), or an ordinary
    /// backing device again (`None`).
    pub fn set_paging(&self, device: &str, lpar: Option<u32>) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE backing_devices SET paging_lpar = ?2 WHERE name = ?1",
            params![device, lpar],
        )?;
        Ok(())
    }

    /// Physical volumes given to the pool as paging devices, with the partition each pages
    /// for.
    pub fn paging_pvs(&self) -> Result<Vec<PagingPv>, StoreError> {
        let mut st = self
            .tx
            .prepare_cached("SELECT name, lpar_id FROM paging_pvs ORDER BY name")?;
        let rows = st.query_map([], |r| {
            Ok(PagingPv {
                name: r.get(0)?,
                lpar_id: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Gives a physical volume to the pool, or assigns it (`lpar`) or frees it (`None`).
    pub fn put_paging_pv(&self, name: &str, lpar: Option<u32>) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO paging_pvs (name, lpar_id) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET lpar_id = excluded.lpar_id",
            params![name, lpar],
        )?;
        Ok(())
    }

    /// Takes a physical volume back from the pool.
    pub fn delete_paging_pv(&self, name: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM paging_pvs WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Physical volumes something holds: a volume group pool's members (with the pool's name)
    /// and the shared memory pool's paging devices (with `paging`).
    pub fn hdisk_claims(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut claims = self.pool_members()?;
        claims.extend(
            self.paging_pvs()?
                .into_iter()
                .map(|pv| (pv.name, "paging".to_string())),
        );
        Ok(claims)
    }
}
