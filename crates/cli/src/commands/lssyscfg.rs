//! `lssyscfg -r sys|lpar|prof [-m SYS] [-F attrs] [--filter ...] [--header]`

use super::{check_resource, Ctx};
use crate::output::{render_with, Record};
use crate::{records, CliError};

/// Options of `lssyscfg`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: sys, lpar or prof.
    #[arg(short = 'r')]
    resource: String,
    #[command(flatten)]
    list: super::ListOptions,
}

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["sys", "lpar", "prof"])?;
    let fields = a.list.check(ctx)?;
    let (records, extras): (Vec<Record>, &[&str]) = match a.resource.as_str() {
        "sys" => {
            if a.list.filter.is_some() {
                return Err(CliError::Usage("Filters are not valid with -r sys.".into()));
            }
            (
                vec![records::system(&ctx.system()?)],
                records::SYSTEM_EXTRAS,
            )
        }
        "lpar" => {
            let filter = a.list.filter(&["lpar_names", "lpar_ids"])?;
            // The two requests go side by side: the system's answer (only its serial number is
            // needed) no longer adds its round trip to the listing's.
            let (system, parts) = std::thread::scope(|s| {
                let system = s.spawn(|| ctx.system());
                let parts = ctx.partitions();
                let system = system
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (system, parts)
            });
            let serial = system?.system.serial_num;
            let now = crate::time::now_ms();
            let parts = parts?;
            let records = parts
                .iter()
                .filter(|p| filter.keeps(p))
                .map(|p| records::lpar(p, &serial, now))
                .collect();
            // The command ends once the listing is printed: freeing a thousand partitions
            // first would be a twentieth of its time.
            std::mem::forget(parts);
            (records, records::LPAR_EXTRAS)
        }
        _ => {
            let filter = a
                .list
                .filter(&["lpar_names", "lpar_ids", "profile_names"])?;
            (
                ctx.partitions()?
                    .iter()
                    .filter(|p| filter.keeps(p))
                    .map(records::profile)
                    .collect(),
                records::PROFILE_EXTRAS,
            )
        }
    };
    let out = render_with(&records, fields.as_ref(), a.list.header, extras);
    std::mem::forget(records);
    out
}
