//! Partition migrations this host takes part in, as source or target.

use ivm_model::{Migration, PartitionState};
use rusqlite::{params, OptionalExtension};

use crate::tx::{corrupt, Tx};
use crate::StoreError;

/// A migration and the state its partition had before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MobilityRecord {
    /// The migration as it was recorded.
    pub migration: Migration,
    /// The partition's state before the migration (the source goes back to it on failure).
    pub prior_state: PartitionState,
}

fn decode(record: String, prior: String) -> Result<MobilityRecord, StoreError> {
    Ok(MobilityRecord {
        migration: serde_json::from_str(&record).map_err(corrupt)?,
        prior_state: prior.parse().map_err(corrupt)?,
    })
}

impl Tx<'_> {
    /// A migration by its identifier.
    pub fn migration(&self, id: &str) -> Result<Option<MobilityRecord>, StoreError> {
        self.tx
            .query_row(
                "SELECT record, prior_state FROM mobility WHERE id = ?1",
                [id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?
            .map(|(r, p)| decode(r, p))
            .transpose()
    }

    /// The migration of partition `lpar_id`, if one holds it.
    pub fn migration_of(&self, lpar_id: u32) -> Result<Option<MobilityRecord>, StoreError> {
        self.tx
            .query_row(
                "SELECT record, prior_state FROM mobility WHERE lpar_id = ?1",
                [lpar_id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?
            .map(|(r, p)| decode(r, p))
            .transpose()
    }

    /// Every migration, by partition ID.
    pub fn migrations(&self) -> Result<Vec<MobilityRecord>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT record, prior_state FROM mobility ORDER BY lpar_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (r, p) = row?;
            out.push(decode(r, p)?);
        }
        Ok(out)
    }

    /// Records (or updates) a migration.
    pub fn put_migration(&self, m: &MobilityRecord) -> Result<(), StoreError> {
        let record = serde_json::to_string(&m.migration).map_err(corrupt)?;
        self.tx.execute(
            "INSERT INTO mobility (id, lpar_id, outgoing, record, prior_state) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET \
             lpar_id = excluded.lpar_id, record = excluded.record",
            params![
                m.migration.id,
                m.migration.lpar_id,
                m.migration.outgoing,
                record,
                m.prior_state.as_str()
            ],
        )?;
        Ok(())
    }

    /// Forgets every migration of partition `lpar_id` (finished ones: a partition a migration
    /// holds is never offered again).
    pub fn delete_migrations_of(&self, lpar_id: u32) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM mobility WHERE lpar_id = ?1", [lpar_id])?;
        Ok(())
    }

    /// Forgets a migration (finished, stopped or recovered).
    pub fn delete_migration(&self, id: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM mobility WHERE id = ?1", [id])?;
        Ok(())
    }

    /// The MAC bases of partitions that moved from here to another host.
    pub fn departed_macs(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT mac_base FROM departed_macs ORDER BY mac_base")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Remembers that partition `lpar_name`, with MAC base `mac_base`, moved to `dest_system`.
    pub fn put_departed_mac(
        &self,
        mac_base: &str,
        lpar_name: &str,
        dest_system: &str,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO departed_macs (mac_base, lpar_name, dest_system) VALUES (?1, ?2, ?3) \
             ON CONFLICT(mac_base) DO UPDATE SET lpar_name = excluded.lpar_name, \
             dest_system = excluded.dest_system",
            params![mac_base, lpar_name, dest_system],
        )?;
        Ok(())
    }

    /// Forgets a departed MAC base (its partition came back).
    pub fn delete_departed_mac(&self, mac_base: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM departed_macs WHERE mac_base = ?1", [mac_base])?;
        Ok(())
    }
}
