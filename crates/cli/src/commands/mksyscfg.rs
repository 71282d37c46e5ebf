//! `mksyscfg -r lpar [-m SYS] -i "name=...,..."`

use ivm_model::PartitionSpec;
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

/// Identity attributes; the rest are the profile's.
const IDENTITY: &[&str] = &[
    "name",
    "lpar_id",
    "lpar_env",
    "profile_name",
    "virtual_eth_mac_base_value",
];

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["lpar"])?;
    let allowed: Vec<&str> = IDENTITY.iter().chain(attrs::PROFILE).copied().collect();
    let json = attrs::to_json(&configdata::parse(&a.input)?, &allowed)?;
    if !json.contains_key("name") {
        return Err(CliError::Usage("The attribute name is required.".into()));
    }
    ctx.check_system(a.system.as_deref())?;
    // Decoded here into the server's own type, as chsyscfg does.
    let spec: PartitionSpec = serde_json::from_value(Value::Object(json))
        .map_err(|e| CliError::Usage(format!("An invalid attribute was entered: {e}")))?;
    ctx.client.create_partition(&spec)?;
    Ok(String::new())
}
