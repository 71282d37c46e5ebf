//! `lshwres -r proc|mem --level sys|lpar [-m SYS] [-F attrs] [--filter ...] [--header]`,
//! `lshwres -r virtualio --rsubtype eth --level lpar [...]`,
//! `lshwres -r virtualio --rsubtype slot --level slot|lpar [...]`.

use super::{check_resource, Ctx};
use crate::output::{render, Record};
use crate::{records, CliError};

/// Options of `lshwres`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: proc or mem.
    #[arg(short = 'r')]
    resource: String,
    /// Level: sys or lpar (not with -r mempool).
    #[arg(long)]
    level: Option<String>,
    /// Virtual I/O subtype: eth or slot.
    #[arg(long)]
    rsubtype: Option<String>,
    #[command(flatten)]
    list: super::ListOptions,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["proc", "mem", "virtualio", "mempool"])?;
    let fields = a.list.check(ctx)?;
    if a.resource == "mempool" {
        if a.level.is_some() {
            return Err(CliError::Usage("-r mempool takes no --level.".into()));
        }
        let pool: ivm_model::MemPoolView = ctx.client.mem_pool()?;
        let records: Vec<Record> = match a.rsubtype.as_deref() {
            None => {
                if a.list.filter.is_some() {
                    return Err(CliError::Usage(
                        "Filters are not valid with -r mempool.".into(),
                    ));
                }
                vec![records::mempool(&pool)]
            }
            Some("pgdev") => {
                let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
                let parts = ctx.partitions()?;
                // Unassigned devices are listed unless a filter names partitions.
                pool.paging_devices
                    .iter()
                    .filter(|d| match d.lpar_id {
                        Some(id) => parts.iter().any(|p| p.lpar_id == id && filter.keeps(p)),
                        None => a.list.filter.is_none(),
                    })
                    .map(|d| records::paging_device(d, &parts))
                    .collect()
            }
            Some(other) => {
                return Err(CliError::Usage(format!(
                    "The subtype {other} is not valid with -r mempool. Valid subtypes are: pgdev"
                )))
            }
        };
        return render(&records, fields.as_ref(), a.list.header);
    }
    let level = a.level.clone().ok_or_else(|| {
        CliError::Usage("--level is required: sys or lpar (slot with --rsubtype slot).".into())
    })?;
    if a.resource == "virtualio" && a.rsubtype.as_deref() == Some("slot") {
        let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
        let parts: Vec<_> = ctx
            .partitions()?
            .into_iter()
            .filter(|p| filter.keeps(p))
            .collect();
        let records: Vec<Record> = match level.as_str() {
            "slot" => {
                let sys: ivm_model::SystemView = ctx.client.system()?;
                let st: ivm_model::StorageView = ctx.client.storage()?;
                parts
                    .iter()
                    .flat_map(|p| records::virtual_slots(p, &sys, &st))
                    .collect()
            }
            "lpar" => parts.iter().map(records::virtual_slot_limits).collect(),
            other => {
                return Err(CliError::Usage(format!(
                    "The level {other} is not valid here. Valid levels are: slot, lpar"
                )))
            }
        };
        return render(&records, fields.as_ref(), a.list.header);
    }
    if a.resource == "virtualio" {
        if a.rsubtype.as_deref() != Some("eth") || level != "lpar" {
            return Err(CliError::Usage(
                "Use lshwres -r virtualio --rsubtype eth --level lpar, or --rsubtype slot --level slot|lpar.".into(),
            ));
        }
        let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
        let records: Vec<Record> = ctx
            .partitions()?
            .iter()
            .filter(|p| filter.keeps(p))
            .flat_map(records::eth_adapters)
            .collect();
        return render(&records, fields.as_ref(), a.list.header);
    }
    let records: Vec<Record> = match level.as_str() {
        "sys" => {
            if a.list.filter.is_some() {
                return Err(CliError::Usage(
                    "Filters are not valid with --level sys.".into(),
                ));
            }
            let summary = ctx.client.resources()?;
            vec![if a.resource == "proc" {
                records::proc_sys(&summary)
            } else {
                records::mem_sys(&summary)
            }]
        }
        "lpar" => {
            let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
            let build = if a.resource == "proc" {
                records::proc_lpar
            } else {
                records::mem_lpar
            };
            ctx.partitions()?
                .iter()
                .filter(|p| filter.keeps(p))
                .map(build)
                .collect()
        }
        other => {
            return Err(CliError::Usage(format!(
                "The level {other} is not valid here. Valid levels are: sys, lpar"
            )))
        }
    };
    render(&records, fields.as_ref(), a.list.header)
}
