//! Utilization samples and their configuration.

use ivm_model::{ProcUnits, UtilConfig, UtilSample};
use rusqlite::{params, OptionalExtension};

use crate::{StoreError, Tx};

impl Tx<'_> {
    /// The sampling configuration, if one was set.
    pub fn util_config(&self) -> Result<Option<UtilConfig>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT sample_rate, max_age_secs FROM util_config WHERE id = 1",
                [],
                |r| {
                    Ok(UtilConfig {
                        sample_rate: r.get(0)?,
                        max_age_secs: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Sets the sampling configuration.
    pub fn put_util_config(&self, c: &UtilConfig) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO util_config (id, sample_rate, max_age_secs) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET sample_rate = excluded.sample_rate, max_age_secs = excluded.max_age_secs",
            params![c.sample_rate, c.max_age_secs],
        )?;
        Ok(())
    }

    /// Records samples.
    pub fn put_util_samples(&self, samples: &[UtilSample]) -> Result<(), StoreError> {
        for s in samples {
            self.tx.execute(
                "INSERT OR REPLACE INTO util_samples (time_ms, lpar_id, lpar_name, state, proc_mode, units, procs, \
                 sharing_mode, uncap_weight, mem, mem_resident, entitled, capped, uncapped, idle, counter_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                params![
                    s.time_ms, s.lpar_id, s.lpar_name, s.state, s.curr_proc_mode, s.curr_proc_units.0,
                    s.curr_procs, s.curr_sharing_mode, s.curr_uncap_weight, s.curr_mem, s.mem_resident,
                    s.entitled_cycles as i64, s.capped_cycles as i64, s.uncapped_cycles as i64,
                    s.idle_cycles as i64, s.counter_ns as i64
                ],
            )?;
        }
        Ok(())
    }

    /// Samples from `from_ms` to `to_ms`, newest first, at most `limit` per partition when given.
    pub fn util_samples(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: Option<u32>,
    ) -> Result<Vec<UtilSample>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT time_ms, lpar_id, lpar_name, state, proc_mode, units, procs, sharing_mode, uncap_weight, \
             mem, mem_resident, entitled, capped, uncapped, idle, counter_ns FROM util_samples \
             WHERE time_ms BETWEEN ?1 AND ?2 ORDER BY time_ms DESC, lpar_id",
        )?;
        let rows = st.query_map(params![from_ms, to_ms], |r| {
            Ok(UtilSample {
                time_ms: r.get(0)?,
                event_type: "sample".into(),
                lpar_id: r.get(1)?,
                lpar_name: r.get(2)?,
                state: r.get(3)?,
                curr_proc_mode: r.get(4)?,
                curr_proc_units: ProcUnits(r.get(5)?),
                curr_procs: r.get(6)?,
                curr_sharing_mode: r.get(7)?,
                curr_uncap_weight: r.get(8)?,
                curr_mem: r.get(9)?,
                mem_resident: r.get(10)?,
                entitled_cycles: r.get::<_, i64>(11)? as u64,
                capped_cycles: r.get::<_, i64>(12)? as u64,
                uncapped_cycles: r.get::<_, i64>(13)? as u64,
                idle_cycles: r.get::<_, i64>(14)? as u64,
                counter_ns: r.get::<_, i64>(15)? as u64,
            })
        })?;
        let mut out: Vec<UtilSample> = rows.collect::<Result<_, _>>()?;
        if let Some(n) = limit {
            let mut seen: std::collections::HashMap<u32, u32> = Default::default();
            out.retain(|s| {
                let c = seen.entry(s.lpar_id).or_default();
                *c += 1;
                *c <= n
            });
        }
        Ok(out)
    }

    /// State changes from `from_ms` to `to_ms`, newest first: (time, partition, its name then,
    /// the state it entered).
    pub fn util_events(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32, String, String)>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT time_ms, lpar_id, lpar_name, state FROM util_events \
             WHERE time_ms BETWEEN ?1 AND ?2 ORDER BY time_ms DESC, lpar_id",
        )?;
        let rows = st.query_map(params![from_ms, to_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A partition's last sample at or before `time_ms`.
    pub fn util_sample_before(
        &self,
        lpar_id: u32,
        time_ms: i64,
    ) -> Result<Option<UtilSample>, StoreError> {
        let t: Option<i64> = self
            .tx
            .query_row(
                "SELECT MAX(time_ms) FROM util_samples WHERE lpar_id = ?1 AND time_ms <= ?2",
                params![lpar_id, time_ms],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let Some(t) = t else { return Ok(None) };
        Ok(self
            .util_samples(t, t, None)?
            .into_iter()
            .find(|s| s.lpar_id == lpar_id))
    }

    /// Removes samples and state changes older than `cutoff_ms`; returns how many samples.
    pub fn prune_util_samples(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.tx
            .execute("DELETE FROM util_events WHERE time_ms < ?1", [cutoff_ms])?;
        Ok(self
            .tx
            .execute("DELETE FROM util_samples WHERE time_ms < ?1", [cutoff_ms])?)
    }
}
