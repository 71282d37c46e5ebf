//! `lssyscfg -r sys|lpar|prof [-m SYS] [-F attrs] [--filter ...] [--header]`

use super::{check_resource, Ctx};
use crate::filter::Filter;
use crate::output::{render, Fields, Record};
use crate::{records, CliError};

/// Options of `lssyscfg`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: sys, lpar or prof.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Attributes to print, joined by a delimiter.
    #[arg(short = 'F')]
    fields: Option<String>,
    /// Filters: lpar_names=, lpar_ids=, profile_names=.
    #[arg(long)]
    filter: Option<String>,
    /// Print the attribute names first (with -F).
    #[arg(long)]
    header: bool,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["sys", "lpar", "prof"])?;
    ctx.check_system(a.system.as_deref())?;
    let fields = a.fields.as_deref().map(Fields::parse).transpose()?;
    let records: Vec<Record> = match a.resource.as_str() {
        "sys" => {
            if a.filter.is_some() {
                return Err(CliError::Usage("Filters are not valid with -r sys.".into()));
            }
            vec![records::system(&ctx.system()?)]
        }
        "lpar" => {
            let filter = Filter::parse(a.filter.as_deref(), &["lpar_names", "lpar_ids"])?;
            let serial = ctx.system()?.system.serial_num;
            ctx.partitions()?
                .iter()
                .filter(|p| filter.keeps(p))
                .map(|p| records::lpar(p, &serial))
                .collect()
        }
        _ => {
            let filter = Filter::parse(
                a.filter.as_deref(),
                &["lpar_names", "lpar_ids", "profile_names"],
            )?;
            ctx.partitions()?
                .iter()
                .filter(|p| filter.keeps(p))
                .map(records::profile)
                .collect()
        }
    };
    render(&records, fields.as_ref(), a.header)
}
