//! `lsrefcode -r lpar [--filter ...] [-F attrs] [--header]`

use super::{check_resource, Ctx};
use crate::filter::Filter;
use crate::output::{render, Fields, Record};
use crate::{records, CliError};

/// Options of `lsrefcode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: lpar.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Attributes to print, joined by a delimiter.
    #[arg(short = 'F')]
    fields: Option<String>,
    /// Filters: lpar_names=, lpar_ids=.
    #[arg(long)]
    filter: Option<String>,
    /// Print the attribute names first (with -F).
    #[arg(long)]
    header: bool,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["lpar"])?;
    ctx.check_system(a.system.as_deref())?;
    let fields = a.fields.as_deref().map(Fields::parse).transpose()?;
    let filter = Filter::parse(a.filter.as_deref(), &["lpar_names", "lpar_ids"])?;
    let records: Vec<Record> = ctx
        .partitions()?
        .iter()
        .filter(|p| filter.keeps(p))
        .map(records::refcode)
        .collect();
    render(&records, fields.as_ref(), a.header)
}
