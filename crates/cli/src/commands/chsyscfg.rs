//! `chsyscfg -r lpar|prof [-m SYS] -i "name=...,..."`

use ivm_model::PartitionChange;
use serde_json::Value;

use super::{check_resource, not_found, Ctx};
use crate::{attrs, configdata, CliError};

/// Options of `chsyscfg`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resource type: lpar or prof.
    #[arg(short = 'r')]
    resource: String,
    /// Managed system (name or type-model*serial).
    #[arg(short = 'm')]
    system: Option<String>,
    /// Configuration data: attr=value pairs naming the partition and what to change.
    #[arg(short = 'i')]
    input: String,
    /// A running partition takes added processors or memory even without an active RMC
    /// connection (its guest agent): the administrator knows its OS onlines them (ivm's).
    #[arg(long)]
    force: bool,
}

const LPAR_CHANGES: &[&str] = &[
    "new_name",
    "auto_start",
    "boot_mode",
    "virtual_eth_mac_base_value",
];

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    check_resource(&a.resource, &["lpar", "prof"])?;
    let pairs = configdata::parse(&a.input)?;
    // Selectors name the partition (and, for profiles, the profile); the rest is the change.
    let selectors: &[&str] = if a.resource == "lpar" {
        &["name", "lpar_id"]
    } else {
        &["name", "lpar_name", "lpar_id"]
    };
    let (select, change): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(k, _)| selectors.contains(&k.as_str()));
    let select = attrs::to_json(&select, selectors)?;
    let profile: Vec<&str> = ["new_name"].iter().chain(attrs::PROFILE).copied().collect();
    let allowed = if a.resource == "lpar" {
        LPAR_CHANGES
    } else {
        &profile
    };
    let change = attrs::to_json(&change, allowed)?;
    if change.is_empty() {
        return Err(CliError::Usage(
            "The configuration data names nothing to change.".into(),
        ));
    }
    ctx.check_system(a.system.as_deref())?;

    let text = |k: &str| select.get(k).and_then(Value::as_str).map(str::to_string);
    let id = select
        .get("lpar_id")
        .and_then(Value::as_u64)
        .map(|v| v as u32);
    let (lpar_name, profile) = if a.resource == "lpar" {
        (text("name"), None)
    } else {
        (text("lpar_name"), text("name"))
    };
    let p = match (id, lpar_name.as_deref().or(profile.as_deref())) {
        (Some(id), _) => ctx.partition(None, Some(id))?,
        (None, Some(name)) => ctx.partition(Some(name), None)?,
        (None, None) => {
            return Err(CliError::Usage(format!(
                "The partition must be named with {}.",
                if a.resource == "lpar" {
                    "name= or lpar_id="
                } else {
                    "name= (the profile), lpar_name= or lpar_id="
                }
            )))
        }
    };
    if let Some(n) = lpar_name.filter(|n| *n != p.name) {
        return Err(not_found(&format!("named {n} with ID {}", p.lpar_id)));
    }
    // The one profile carries the partition's name.
    if let Some(prof) = profile.filter(|n| *n != p.name) {
        return Err(CliError::Usage(format!(
            "The profile {prof} does not exist for partition {}; its only profile is {}.",
            p.name, p.name
        )));
    }
    // Decoded here into the server's own type: a field it would not take is refused before
    // anything is sent.
    let change: PartitionChange = serde_json::from_value(Value::Object(change))
        .map_err(|e| CliError::Usage(format!("An invalid attribute was entered: {e}")))?;
    ctx.client.change_partition(p.lpar_id, &change, a.force)?;
    Ok(String::new())
}
