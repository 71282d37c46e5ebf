//! Utilization sampling (`lslparutil`): every sample period each running partition's cgroup CPU
//! time, entitlement and memory become a sample with cumulative cycle counters (the rules say
//! how); samples older than the maximum age go. Also the Prometheus metrics.

use std::time::Duration;

use ivm_model::{UtilConfig, UtilSample};

mod sampler;
#[cfg(test)]
mod tests;

use super::{now_ms, Actor, Service, ServiceError};
use sampler::Reading;
pub(crate) use sampler::{LinuxUsage, Sampler};

impl Service {
    /// How often samples are taken and how long they are kept.
    pub fn util_config(&self) -> Result<UtilConfig, ServiceError> {
        Ok(self
            .store
            .read(|tx| tx.util_config())?
            .unwrap_or(UtilConfig {
                sample_rate: ivm_rules::DEFAULT_SAMPLE_RATE,
                max_age_secs: ivm_rules::DEFAULT_MAX_AGE_SECS,
            }))
    }

    /// `chlparutil -r config -s RATE`.
    pub fn set_sample_rate(&self, actor: &Actor, rate: u32) -> Result<UtilConfig, ServiceError> {
        let mut c = self.util_config()?;
        self.logged_write(actor, "change utilization sampling", "config", |tx| {
            c.sample_rate = ivm_rules::check_sample_rate(rate)?;
            tx.put_util_config(&c)?;
            Ok((c, format!("every {rate} s")))
        })
        .inspect(|_| self.sampler.wake.notify())
    }

    /// The utilization sampler's loop (its own thread): a sample at start, then one every
    /// sample period; a changed rate takes effect at once and a rate of 0 stops sampling
    /// until a rate is set again.
    pub fn run_sampler(&self) {
        let rate = || {
            self.util_config()
                .map(|c| c.sample_rate)
                .unwrap_or(ivm_rules::DEFAULT_SAMPLE_RATE)
        };
        let period = |rate: u32| (rate > 0).then(|| Duration::from_secs(u64::from(rate)));
        // The count is read before the rate: a change in between wakes the wait at once.
        let mut seen = self.sampler.wake.seen();
        let mut current = rate();
        loop {
            if current > 0 {
                if let Err(e) = self.sample_utilization() {
                    tracing::warn!(error = %e, "cannot take utilization samples");
                }
            }
            // Woken by a change, the new period starts then: its first sample is one period on.
            while self.sampler.wake.wait(seen, period(current)) {
                seen = self.sampler.wake.seen();
                current = rate();
            }
        }
    }

    /// The sample period `ivm.toml` sets (`util_sample_secs`, any number of seconds: for tests
    /// and tuning beyond IVM's fixed rates).
    pub fn set_configured_sample_rate(&self, secs: u32) -> Result<(), ServiceError> {
        let mut c = self.util_config()?;
        c.sample_rate = secs;
        self.store.write(|tx| tx.put_util_config(&c))?;
        Ok(())
    }

    /// Samples between two times (ms), newest first, at most `n` per partition.
    pub fn utilization(
        &self,
        from_ms: i64,
        to_ms: i64,
        n: Option<u32>,
    ) -> Result<Vec<UtilSample>, ServiceError> {
        if from_ms > to_ms {
            return Err(ivm_rules::RuleError::ReversedTimeRange.into());
        }
        Ok(self.store.read(|tx| tx.util_samples(from_ms, to_ms, n))?)
    }

    /// Partitions' state changes between two times (ms), newest first, each as a record with
    /// the counters of the partition's last sample before it (zero before any: a new run's
    /// counters start at zero) and its configuration then, or now if it has no sample yet.
    pub fn util_events(&self, from_ms: i64, to_ms: i64) -> Result<Vec<UtilSample>, ServiceError> {
        if from_ms > to_ms {
            return Err(ivm_rules::RuleError::ReversedTimeRange.into());
        }
        Ok(self.store.read(|tx| {
            let mut out = Vec::new();
            for (time_ms, id, name, state) in tx.util_events(from_ms, to_ms)? {
                let base = match tx.util_sample_before(id, time_ms)? {
                    Some(s) => s,
                    None => match tx.partition(id)? {
                        Some(p) => UtilSample {
                            curr_proc_units: ivm_rules::committed_units(&p.procs),
                            curr_proc_mode: p.procs.proc_mode.to_string(),
                            curr_procs: p.procs.desired_procs,
                            curr_sharing_mode: p.procs.sharing_mode.to_string(),
                            curr_uncap_weight: u32::from(p.procs.uncap_weight),
                            curr_mem: p.mem.desired_mem,
                            ..Default::default()
                        },
                        None => UtilSample::default(),
                    },
                };
                out.push(UtilSample {
                    time_ms,
                    event_type: "state_change".into(),
                    lpar_id: id,
                    lpar_name: name,
                    state,
                    ..base
                });
            }
            Ok::<_, ivm_store::StoreError>(out)
        })?)
    }

    /// Chart points for one partition or the whole system from `from_ms` on.
    pub fn util_series(
        &self,
        lpar: Option<u32>,
        from_ms: i64,
    ) -> Result<Vec<ivm_model::UtilPoint>, ServiceError> {
        if let Some(id) = lpar {
            self.partition(id)?;
        }
        let samples = self
            .store
            .read(|tx| tx.util_samples(from_ms, i64::MAX, None))?;
        Ok(ivm_rules::util_points(&samples, lpar))
    }

    /// Takes one sample of every running partition and removes samples past the maximum age;
    /// returns how many were taken.
    pub fn sample_utilization(&self) -> Result<usize, ServiceError> {
        let rt = self.runtime()?;
        let now = now_ms();
        let config = self.util_config()?;
        let parts = self.store.read(|tx| tx.partitions())?;
        let samples = self.sampler.take(&parts, now, |id| match rt.get(id) {
            None => Reading::NotRunning,
            Some(live) => match live.cpu_time() {
                None => Reading::NoCounter,
                Some(cpu) => Reading::Read {
                    cpu_ns: cpu.as_nanos() as u64,
                    resident: live.group.memory_usage().unwrap_or(0),
                },
            },
        });
        let cutoff = now - (config.max_age_secs as i64).saturating_mul(1000);
        self.store.write(|tx| {
            tx.put_util_samples(&samples)?;
            tx.prune_util_samples(cutoff)
        })?;
        Ok(samples.len())
    }

    /// `GET /metrics`: Prometheus text: each partition's state, entitlement, CPU time, memory;
    /// the system's totals.
    pub fn metrics(&self) -> Result<String, ServiceError> {
        use std::fmt::Write;
        let parts = self.store.read(|tx| tx.partitions())?;
        let summary = self.summary()?;
        let rt = self.runtime.as_ref();
        let mut out = String::new();
        let mut metric = |name: &str, help: &str, kind: &str, rows: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let label = |p: &ivm_model::Partition| {
            format!(
                "{{lpar_id=\"{}\",lpar_name=\"{}\"}}",
                p.lpar_id,
                p.name.replace('\\', "\\\\").replace('"', "\\\"")
            )
        };
        let clients: Vec<&ivm_model::Partition> =
            parts.iter().filter(|p| !p.is_management()).collect();
        metric(
            "ivm_partition_running",
            "1 while the partition runs.",
            "gauge",
            clients
                .iter()
                .map(|p| (label(p), u8::from(p.state.is_active()).to_string()))
                .collect(),
        );
        metric(
            "ivm_partition_entitled_units",
            "Processing units committed (dedicated processors count whole).",
            "gauge",
            clients
                .iter()
                .map(|p| {
                    let u = ivm_rules::committed_units(&p.procs);
                    (label(p), format!("{:.2}", u.as_f64()))
                })
                .collect(),
        );
        metric(
            "ivm_partition_memory_assigned_bytes",
            "Memory committed to the partition.",
            "gauge",
            clients
                .iter()
                .map(|p| (label(p), (p.mem.desired_mem << 20).to_string()))
                .collect(),
        );
        let live: Vec<(String, u64, u64)> = clients
            .iter()
            .filter_map(|p| {
                let l = rt?.get(p.lpar_id)?;
                let cpu = l.cpu_time()?.as_nanos() as u64;
                Some((label(p), cpu, l.group.memory_usage().unwrap_or(0)))
            })
            .collect();
        metric(
            "ivm_partition_cpu_seconds_total",
            "CPU time the running partition used (its cgroup's counter).",
            "counter",
            live.iter()
                .map(|(l, cpu, _)| (l.clone(), format!("{:.3}", *cpu as f64 / 1e9)))
                .collect(),
        );
        metric(
            "ivm_partition_memory_resident_bytes",
            "Memory the running partition holds on the host (its cgroup's usage).",
            "gauge",
            live.iter()
                .map(|(l, _, m)| (l.clone(), m.to_string()))
                .collect(),
        );
        // Disk and network counters of running partitions: QEMU's block statistics per
        // virtual target device; each adapter's tap, seen from the guest (what the tap sent
        // is what the partition received).
        let mut disks: Vec<(String, u64, u64)> = Vec::new();
        for p in &clients {
            let Some(l) = rt.and_then(|rt| rt.get(p.lpar_id)) else {
                continue;
            };
            match ivm_qemu::vm::block_stats(&l.qmp) {
                Ok(stats) => disks.extend(stats.into_iter().map(|b| {
                    let with = label(p).replace('}', &format!(",device=\"{}\"}}", b.device));
                    (with, b.rd_bytes, b.wr_bytes)
                })),
                Err(e) => tracing::warn!(lpar = p.lpar_id, error = %e, "no block statistics"),
            }
        }
        metric(
            "ivm_partition_disk_read_bytes_total",
            "Bytes the partition read from a virtual SCSI device (QEMU's block statistics).",
            "counter",
            disks
                .iter()
                .map(|(l, r, _)| (l.clone(), r.to_string()))
                .collect(),
        );
        metric(
            "ivm_partition_disk_written_bytes_total",
            "Bytes the partition wrote to a virtual SCSI device.",
            "counter",
            disks
                .iter()
                .map(|(l, _, w)| (l.clone(), w.to_string()))
                .collect(),
        );
        let mut nics: Vec<(String, u64, u64)> = Vec::new();
        if let Some(rt) = rt {
            let links = self.net.links().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "no network statistics");
                Vec::new()
            });
            for p in &clients {
                if rt.get(p.lpar_id).is_none() {
                    continue;
                }
                for a in p.eth.virtual_eth_adapters.iter() {
                    let tap = super::network::tap_name(&rt.env.net_prefix, p.lpar_id, a.slot_num);
                    if let Some(link) = links.iter().find(|l| l.name == tap) {
                        let with = label(p).replace('}', &format!(",slot=\"{}\"}}", a.slot_num));
                        nics.push((with, link.tx_bytes, link.rx_bytes));
                    }
                }
            }
        }
        metric(
            "ivm_partition_network_receive_bytes_total",
            "Bytes a virtual Ethernet adapter of the partition received.",
            "counter",
            nics.iter()
                .map(|(l, r, _)| (l.clone(), r.to_string()))
                .collect(),
        );
        metric(
            "ivm_partition_network_transmit_bytes_total",
            "Bytes a virtual Ethernet adapter of the partition sent.",
            "counter",
            nics.iter()
                .map(|(l, _, t)| (l.clone(), t.to_string()))
                .collect(),
        );
        let sys = |v: String| vec![(String::new(), v)];
        metric(
            "ivm_system_configurable_proc_units",
            "Processing units the system has for partitions.",
            "gauge",
            sys(format!("{:.2}", summary.configurable_proc_units.as_f64())),
        );
        metric(
            "ivm_system_available_proc_units",
            "Processing units not committed.",
            "gauge",
            sys(format!("{:.2}", summary.available_proc_units.as_f64())),
        );
        metric(
            "ivm_system_configurable_memory_bytes",
            "Memory the system has for partitions.",
            "gauge",
            sys((summary.configurable_mem << 20).to_string()),
        );
        metric(
            "ivm_system_available_memory_bytes",
            "Memory not committed.",
            "gauge",
            sys((summary.available_mem << 20).to_string()),
        );
        metric(
            "ivm_partitions",
            "Client partitions defined.",
            "gauge",
            sys(clients.len().to_string()),
        );
        out.push_str(&self.activation_phases.render(
            "ivm_activation_phase_seconds",
            "Time spent in each phase of activations since the daemon started.",
        ));
        Ok(out)
    }
}
