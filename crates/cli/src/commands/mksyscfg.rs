//! `mksyscfg -r lpar [-m SYS] -i "name=...,..."`

use serde_json::Value;

use super::{check_resource, Ctx};
use crate::{attrs, configdata, CliError};

/// Options of `mksyscfg`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: lpar.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Configuration data: attr=value pairs.
    #[arg(short = 'i')]
    input: String,
}

const ATTRIBUTES: &[&str] = &[
    "name",
    "lpar_id",
    "lpar_env",
    "profile_name",
    "proc_mode",
    "min_procs",
    "desired_procs",
    "max_procs",
    "min_proc_units",
    "desired_proc_units",
    "max_proc_units",
    "sharing_mode",
    "uncap_weight",
    "mem_mode",
    "min_mem",
    "desired_mem",
    "max_mem",
    "auto_start",
    "boot_mode",
    "max_virtual_slots",
    "boot_kernel",
    "boot_initrd",
    "boot_args",
];

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["lpar"])?;
    let json = attrs::to_json(&configdata::parse(&a.input)?, ATTRIBUTES)?;
    if !json.contains_key("name") {
        return Err(CliError::Usage("The attribute name is required.".into()));
    }
    ctx.check_system(a.system.as_deref())?;
    ctx.client
        .send("POST", "/partitions", Some(&Value::Object(json)))?;
    Ok(String::new())
}
