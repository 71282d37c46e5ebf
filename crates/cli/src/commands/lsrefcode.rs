//! `lsrefcode -r lpar [--filter ...] [-F attrs] [--header]`

use super::{check_resource, Ctx};
use crate::output::{render, Record};
use crate::{records, CliError};

/// Options of `lsrefcode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: lpar.
    #[arg(short = 'r')]
    resource: String,
    #[command(flatten)]
    list: super::ListOptions,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["lpar"])?;
    let fields = a.list.check(ctx)?;
    let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
    let records: Vec<Record> = ctx
        .partitions()?
        .iter()
        .filter(|p| filter.keeps(p))
        .map(records::refcode)
        .collect();
    render(&records, fields.as_ref(), a.list.header)
}
