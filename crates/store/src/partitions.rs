//! Partition rows.

use ivm_model::{BootConfig, MemConfig, Partition, PartitionState, ProcConfig, ProcUnits};
use rusqlite::{params, OptionalExtension, Row};

use crate::tx::{corrupt, Tx};
use crate::StoreError;

const COLUMNS: &str = "lpar_id, name, lpar_env, state, ref_code, auto_start, boot_mode, os_version, \
    max_virtual_slots, proc_mode, min_procs, desired_procs, max_procs, min_proc_units, \
    desired_proc_units, max_proc_units, sharing_mode, uncap_weight, mem_mode, min_mem, desired_mem, max_mem, \
    boot_kernel, boot_initrd, boot_args, ref_time_ms, mac_base, mem_weight, boot_firmware, display";

/// Every column but the key, set from the proposed row: an upsert keyed on the ID only, so a
/// clash on the unique name is an error rather than a silent replacement.
const UPDATES: &str = "name = excluded.name, lpar_env = excluded.lpar_env, state = excluded.state, \
    ref_code = excluded.ref_code, auto_start = excluded.auto_start, boot_mode = excluded.boot_mode, \
    os_version = excluded.os_version, max_virtual_slots = excluded.max_virtual_slots, \
    proc_mode = excluded.proc_mode, min_procs = excluded.min_procs, desired_procs = excluded.desired_procs, \
    max_procs = excluded.max_procs, min_proc_units = excluded.min_proc_units, \
    desired_proc_units = excluded.desired_proc_units, max_proc_units = excluded.max_proc_units, \
    sharing_mode = excluded.sharing_mode, uncap_weight = excluded.uncap_weight, mem_mode = excluded.mem_mode, \
    min_mem = excluded.min_mem, desired_mem = excluded.desired_mem, max_mem = excluded.max_mem, \
    boot_kernel = excluded.boot_kernel, boot_initrd = excluded.boot_initrd, boot_args = excluded.boot_args, \
    ref_time_ms = excluded.ref_time_ms, mac_base = excluded.mac_base, mem_weight = excluded.mem_weight, \
    boot_firmware = excluded.boot_firmware, display = excluded.display";

fn parse<T: std::str::FromStr>(row: &Row, idx: usize) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    let text: String = row.get(idx)?;
    text.parse().map_err(|e: T::Err| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    })
}

fn from_row(row: &Row) -> rusqlite::Result<Partition> {
    let units = |idx| row.get::<_, Option<u32>>(idx).map(|v| v.map(ProcUnits));
    Ok(Partition {
        lpar_id: row.get(0)?,
        name: row.get(1)?,
        lpar_env: parse(row, 2)?,
        state: parse(row, 3)?,
        ref_code: row.get(4)?,
        auto_start: row.get(5)?,
        boot_mode: parse(row, 6)?,
        os_version: row.get(7)?,
        max_virtual_slots: row.get(8)?,
        procs: ProcConfig {
            proc_mode: parse(row, 9)?,
            min_procs: row.get(10)?,
            desired_procs: row.get(11)?,
            max_procs: row.get(12)?,
            min_proc_units: units(13)?,
            desired_proc_units: units(14)?,
            max_proc_units: units(15)?,
            sharing_mode: parse(row, 16)?,
            uncap_weight: row.get(17)?,
        },
        mem: MemConfig {
            mem_mode: parse(row, 18)?,
            min_mem: row.get(19)?,
            desired_mem: row.get(20)?,
            max_mem: row.get(21)?,
            mem_weight: row.get(27)?,
        },
        boot: BootConfig {
            boot_kernel: row.get(22)?,
            boot_initrd: row.get(23)?,
            boot_args: row.get(24)?,
            boot_firmware: parse(row, 28)?,
            display: parse(row, 29)?,
        },
        ref_time_ms: row.get(25)?,
        eth: ivm_model::EthConfig {
            virtual_eth_adapters: Vec::new(),
            virtual_eth_mac_base_value: row.get(26)?,
        },
        run: None,
    })
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(_, _, why) => corrupt(why),
        other => StoreError::Sqlite(other),
    }
}

impl Tx<'_> {
    /// Every partition, by ID.
    pub fn partitions(&self) -> Result<Vec<Partition>, StoreError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM partitions ORDER BY lpar_id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        let parts = rows.collect::<Result<Vec<_>, _>>().map_err(map_err)?;
        self.with_adapters(parts)
    }

    /// One partition by ID.
    pub fn partition(&self, id: u32) -> Result<Option<Partition>, StoreError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM partitions WHERE lpar_id = ?1"
        ))?;
        match stmt.query_row([id], from_row).optional().map_err(map_err)? {
            None => Ok(None),
            Some(p) => Ok(self.with_adapters(vec![p])?.pop()),
        }
    }

    /// Inserts a new partition or updates the one with the same ID.
    pub fn put_partition(&self, p: &Partition) -> Result<(), StoreError> {
        let units = |u: Option<ProcUnits>| u.map(|u| u.0);
        let mut stmt = self.tx.prepare_cached(&format!(
            "INSERT INTO partitions ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30) \
             ON CONFLICT(lpar_id) DO UPDATE SET {UPDATES}"
        ))?;
        stmt.execute(params![
            p.lpar_id,
            p.name,
            p.lpar_env.as_str(),
            p.state.as_str(),
            p.ref_code,
            p.auto_start,
            p.boot_mode.as_str(),
            p.os_version,
            p.max_virtual_slots,
            p.procs.proc_mode.as_str(),
            p.procs.min_procs,
            p.procs.desired_procs,
            p.procs.max_procs,
            units(p.procs.min_proc_units),
            units(p.procs.desired_proc_units),
            units(p.procs.max_proc_units),
            p.procs.sharing_mode.as_str(),
            p.procs.uncap_weight,
            p.mem.mem_mode.as_str(),
            p.mem.min_mem,
            p.mem.desired_mem,
            p.mem.max_mem,
            p.boot.boot_kernel,
            p.boot.boot_initrd,
            p.boot.boot_args,
            p.ref_time_ms,
            p.eth.virtual_eth_mac_base_value,
            p.mem.mem_weight,
            p.boot.boot_firmware.as_str(),
            p.boot.display.as_str(),
        ])?;
        self.put_eth_adapters(p.lpar_id, &p.eth.virtual_eth_adapters)
    }

    /// Replaces a partition's virtual Ethernet adapters.
    fn put_eth_adapters(
        &self,
        id: u32,
        adapters: &[ivm_model::VirtualEthAdapter],
    ) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM eth_adapters WHERE lpar_id = ?1", [id])?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO eth_adapters (lpar_id, slot_num, ieee, pvid, addl_vlan_ids, trunk, required) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for a in adapters {
            let addl: Vec<String> = a.addl_vlan_ids.iter().map(u16::to_string).collect();
            stmt.execute(params![
                id,
                a.slot_num,
                a.ieee_virtual_eth,
                a.port_vlan_id,
                addl.join(","),
                a.is_trunk,
                a.is_required
            ])?;
        }
        Ok(())
    }

    /// Fills in the virtual Ethernet adapters of partitions read from their rows.
    fn with_adapters(&self, mut parts: Vec<Partition>) -> Result<Vec<Partition>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT lpar_id, slot_num, ieee, pvid, addl_vlan_ids, trunk, required FROM eth_adapters \
             ORDER BY lpar_id, slot_num",
        )?;
        let rows = stmt.query_map([], |r| {
            let addl: String = r.get(4)?;
            Ok((
                r.get::<_, u32>(0)?,
                ivm_model::VirtualEthAdapter {
                    slot_num: r.get(1)?,
                    ieee_virtual_eth: r.get(2)?,
                    port_vlan_id: r.get(3)?,
                    addl_vlan_ids: addl
                        .split(',')
                        .filter(|v| !v.is_empty())
                        .filter_map(|v| v.parse().ok())
                        .collect(),
                    is_trunk: r.get(5)?,
                    is_required: r.get(6)?,
                },
            ))
        })?;
        // Indexed, not searched: a scan per adapter made listing 1,000 partitions quadratic.
        let at: std::collections::HashMap<u32, usize> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.lpar_id, i))
            .collect();
        for row in rows {
            let (id, a) = row?;
            if let Some(&i) = at.get(&id) {
                parts[i].eth.virtual_eth_adapters.push(a);
            }
        }
        Ok(parts)
    }

    /// Sets a partition's state and reference code, stamped with `now_ms`.
    pub fn set_partition_state(
        &self,
        id: u32,
        state: PartitionState,
        ref_code: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // A change of state is recorded with the utilization data, in the same transaction.
        self.tx.execute(
            "INSERT INTO util_events (time_ms, lpar_id, lpar_name, state) \
             SELECT ?3, lpar_id, name, ?2 FROM partitions WHERE lpar_id = ?1 AND state <> ?2",
            params![id, state.as_str(), now_ms],
        )?;
        self.tx.execute(
            "UPDATE partitions SET state = ?2, ref_code = ?3, ref_time_ms = ?4 WHERE lpar_id = ?1",
            params![id, state.as_str(), ref_code, now_ms],
        )?;
        Ok(())
    }

    /// Deletes a partition; true when it existed.
    pub fn delete_partition(&self, id: u32) -> Result<bool, StoreError> {
        self.tx
            .execute("DELETE FROM cloud_init WHERE lpar_id = ?1", [id])?;
        Ok(self
            .tx
            .execute("DELETE FROM partitions WHERE lpar_id = ?1", [id])?
            > 0)
    }
}

impl Tx<'_> {
    /// Partition `id`'s cloud-init seed, if it has one.
    pub fn cloud_init(&self, id: u32) -> Result<Option<ivm_model::CloudInit>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT hostname, user_data, network_config FROM cloud_init WHERE lpar_id = ?1",
                [id],
                |r| {
                    Ok(ivm_model::CloudInit {
                        hostname: r.get(0)?,
                        user_data: r.get(1)?,
                        network_config: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Sets partition `id`'s cloud-init seed, or removes it (`None`).
    pub fn put_cloud_init(
        &self,
        id: u32,
        seed: Option<&ivm_model::CloudInit>,
    ) -> Result<(), StoreError> {
        match seed {
            Some(c) => self.tx.execute(
                "INSERT OR REPLACE INTO cloud_init (lpar_id, hostname, user_data, network_config) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, c.hostname, c.user_data, c.network_config],
            )?,
            None => self
                .tx
                .execute("DELETE FROM cloud_init WHERE lpar_id = ?1", [id])?,
        };
        Ok(())
    }
}
