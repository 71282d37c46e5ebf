//! Partitions' cloud-init NoCloud seeds: kept in the store, made into a `cidata` medium at
//! each activation.

use ivm_model::CloudInit;
use ivm_rules::RuleError;

use super::{Actor, Service, ServiceError};
use crate::runtime::HostError;

impl Service {
    /// Partition `id`'s cloud-init seed (`None`: it has none).
    pub fn cloud_init(&self, id: u32) -> Result<Option<CloudInit>, ServiceError> {
        self.store.read(|tx| {
            tx.partition(id)?
                .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
            Ok(tx.cloud_init(id)?)
        })
    }

    /// Sets partition `id`'s seed (`None` removes it); used at its next activation.
    pub fn set_cloud_init(
        &self,
        actor: &Actor,
        id: u32,
        seed: Option<&CloudInit>,
    ) -> Result<(), ServiceError> {
        let op = match seed {
            Some(_) => "set cloud-init seed",
            None => "remove cloud-init seed",
        };
        self.logged_write(actor, op, &format!("lpar {id}"), |tx| {
            let p = tx
                .partition(id)?
                .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
            if p.is_management() {
                return Err(RuleError::ManagementPartition("given a cloud-init seed").into());
            }
            if let Some(s) = seed {
                ivm_rules::check_cloud_init(s)?;
            }
            tx.put_cloud_init(id, seed)?;
            Ok(((), super::lpar_target(&p)))
        })
    }

    /// The seed medium for activating `p`, made from its seed (none without one).
    pub(super) fn seed_medium(
        &self,
        p: &ivm_model::Partition,
    ) -> Result<Option<std::fs::File>, ServiceError> {
        let Some(seed) = self.store.read(|tx| tx.cloud_init(p.lpar_id))? else {
            return Ok(None);
        };
        let meta =
            ivm_rules::cloud_init_meta_data(&self.system.serial_num, p.lpar_id, &p.name, &seed);
        let mut files = vec![
            ("meta-data", meta.as_str()),
            ("user-data", seed.user_data.as_str()),
        ];
        if !seed.network_config.is_empty() {
            files.push(("network-config", seed.network_config.as_str()));
        }
        let out = self
            .data_dir
            .join("cidata")
            .join(format!("lpar-{}.iso", p.lpar_id));
        let dir = out.parent().expect("a file in a directory");
        std::fs::create_dir_all(dir).map_err(|source| HostError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source,
        })?;
        ivm_storage::seed::make(&out, &files).map_err(HostError::from)?;
        let f = std::fs::File::open(&out).map_err(|source| HostError::Io {
            action: "open",
            path: out.clone(),
            source,
        })?;
        Ok(Some(f))
    }
}
