//! The partition's RMC connection: the QEMU guest agent. PowerVM needs RMC for DLPAR; ivm
//! needs the agent to online what DLPAR adds in a guest that does not do it by itself (a
//! stock distribution onlines neither hot-added processors nor memory), to learn the guest's
//! address, and to shut the OS down cleanly.

use std::time::{Duration, Instant};

use ivm_model::RmcState;
use ivm_qemu::agent::{Agent, AgentError};
use ivm_qemu::vm;

use super::{Service, ServiceError};
use crate::runtime::{HostError, Live};

/// How long one agent command may take (a TCG guest answers in well under a second).
const AGENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the guest may take to show what QEMU plugged, before the agent onlines it.
const GUEST_SEES_PLUG: Duration = Duration::from_secs(30);

/// How long a reported address is reused by listings.
const ADDRESS_TTL: Duration = Duration::from_secs(10);

impl Service {
    /// Whether the partition's guest runs its agent now.
    pub(super) fn rmc_state(&self, live: &Live) -> RmcState {
        match vm::agent_open(&live.qmp) {
            Ok(true) => RmcState::Active,
            _ => RmcState::Inactive,
        }
    }

    /// Runs `f` on a fresh connection to the partition's agent, alone.
    fn with_agent<T>(
        &self,
        live: &Live,
        f: impl FnOnce(&mut Agent) -> Result<T, AgentError>,
    ) -> Result<T, HostError> {
        let _held = live.agent_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut agent = Agent::connect(&live.paths.agent(), AGENT_TIMEOUT)?;
        Ok(f(&mut agent)?)
    }

    /// The guest's first IPv4 address (asked of the agent at most every ADDRESS_TTL).
    pub(super) fn rmc_ipaddr(&self, live: &Live, state: RmcState) -> Option<String> {
        if state != RmcState::Active {
            return None;
        }
        let mut cached = live.rmc_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, ip)) = &*cached {
            if at.elapsed() < ADDRESS_TTL {
                return ip.clone();
            }
        }
        let ip = self
            .with_agent(live, |a| a.ipv4_addresses())
            .map(|v| v.into_iter().next())
            .unwrap_or_else(|e| {
                tracing::debug!(lpar = live.id, error = %e, "no address from the guest agent");
                None
            });
        *cached = Some((Instant::now(), ip.clone()));
        ip
    }

    /// Asks the OS to power off through its agent; false when there is no agent to ask.
    pub(super) fn agent_shutdown(&self, live: &Live) -> bool {
        if self.rmc_state(live) != RmcState::Active {
            return false;
        }
        match self.with_agent(live, |a| a.shutdown(false)) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(lpar = live.id, error = %e, "the guest agent did not take the shutdown; pressing the power button");
                false
            }
        }
    }

    /// Onlines, through the agent, the processors the guest has offline once it sees `count`
    /// of them (what QEMU plugged reaches the guest through ACPI a moment later).
    pub(super) fn online_vcpus(&self, live: &Live, count: u32) -> Result<(), ServiceError> {
        let deadline = Instant::now() + GUEST_SEES_PLUG;
        self.with_agent(live, |a| loop {
            let vcpus = a.vcpus()?;
            let offline: Vec<u64> = vcpus.iter().filter(|v| !v.1).map(|v| v.0).collect();
            if vcpus.len() as u32 >= count && offline.is_empty() {
                return Ok(Ok(()));
            }
            // Every round, onlining or waiting, is bounded: the guest answers what it likes.
            if Instant::now() > deadline {
                return Ok(Err(format!(
                    "the guest shows {} of {count} processors ({} offline) after {} s",
                    vcpus.len(),
                    offline.len(),
                    GUEST_SEES_PLUG.as_secs()
                )));
            }
            if vcpus.len() as u32 >= count {
                a.online_vcpus(&offline)?;
            }
            std::thread::sleep(Duration::from_millis(200));
        })?
        .map_err(|m| HostError::Failed(m).into())
    }

    /// Onlines, through the agent, the memory blocks the guest adds for the `plugged_mb` of
    /// virtio-mem memory QEMU has plugged. QEMU counts memory as plugged before the guest's
    /// driver adds its block, so this waits (bounded) until the guest has blocks for all of
    /// it, then onlines every block it left offline.
    pub(super) fn online_memory(&self, live: &Live, plugged_mb: u64) -> Result<(), ServiceError> {
        let start = vm::plugged_region_start(&live.qmp)
            .map_err(HostError::from)?
            .unwrap_or(0);
        let deadline = Instant::now() + GUEST_SEES_PLUG;
        self.with_agent(live, |a| {
            let block_size = a.memory_block_size()?;
            loop {
                let blocks = a.memory_blocks()?;
                let seen = ivm_rules::plug_seen(&blocks, block_size, start, plugged_mb << 20);
                if seen.covered && seen.offline.is_empty() {
                    return Ok(Ok(()));
                }
                if Instant::now() > deadline {
                    return Ok(Err(if seen.covered {
                        format!(
                            "the guest left {} memory blocks offline after {} s (first: {})",
                            seen.offline.len(),
                            GUEST_SEES_PLUG.as_secs(),
                            seen.offline[0]
                        )
                    } else {
                        format!(
                            "the guest did not add the blocks for {plugged_mb} MB of plugged memory in {} s",
                            GUEST_SEES_PLUG.as_secs()
                        )
                    }));
                }
                if !seen.offline.is_empty() {
                    // Movable first, so a removal can take the memory back later; what the
                    // guest keeps out of that zone is onlined as the agent onlines it.
                    let left = a.online_memory_blocks_movable(&seen.offline)?;
                    let refused = if left.is_empty() {
                        Vec::new()
                    } else {
                        a.online_memory_blocks(&left)?
                    };
                    if let Some((block, why)) = refused.first() {
                        return Ok(Err(format!(
                            "the guest did not online memory block {block} ({why}) nor {} others",
                            refused.len() - 1
                        )));
                    }
                    continue;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })?
        .map_err(|m| HostError::Failed(m).into())
    }
}
