//! Running partitions' launch limits and live changes under way.

use ivm_model::{LaunchLimits, Partition};
use rusqlite::{params, OptionalExtension};

use crate::tx::{corrupt, Tx};
use crate::StoreError;

/// What the store keeps about one running partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// Partition ID.
    pub lpar_id: u32,
    /// What its QEMU was started with.
    pub limits: LaunchLimits,
    /// The partition as it was before a live change that is not yet committed on the host.
    pub pending: Option<Partition>,
}

fn decode(id: u32, limits: String, pending: Option<String>) -> Result<RunRecord, StoreError> {
    Ok(RunRecord {
        lpar_id: id,
        limits: serde_json::from_str(&limits).map_err(corrupt)?,
        pending: pending
            .map(|p| serde_json::from_str(&p).map_err(corrupt))
            .transpose()?,
    })
}

impl Tx<'_> {
    /// The run record of a partition, if it runs.
    pub fn run(&self, id: u32) -> Result<Option<RunRecord>, StoreError> {
        let row = self
            .tx
            .query_row(
                "SELECT limits, pending FROM runs WHERE lpar_id = ?1",
                [id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()?;
        row.map(|(l, p)| decode(id, l, p)).transpose()
    }

    /// Every run record, by ID.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT lpar_id, limits, pending FROM runs ORDER BY lpar_id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, l, p) = row?;
            out.push(decode(id, l, p)?);
        }
        Ok(out)
    }

    /// Records (or replaces) a partition's run record.
    pub fn put_run(&self, r: &RunRecord) -> Result<(), StoreError> {
        let limits = serde_json::to_string(&r.limits).map_err(corrupt)?;
        let pending = r
            .pending
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt)?;
        self.tx.execute(
            "INSERT INTO runs (lpar_id, limits, pending) VALUES (?1, ?2, ?3) \
             ON CONFLICT(lpar_id) DO UPDATE SET limits = excluded.limits, pending = excluded.pending",
            params![r.lpar_id, limits, pending],
        )?;
        Ok(())
    }

    /// Forgets a partition's run record (it stopped).
    pub fn delete_run(&self, id: u32) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM runs WHERE lpar_id = ?1", [id])?;
        Ok(())
    }
}
