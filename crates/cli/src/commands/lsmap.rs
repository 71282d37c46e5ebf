//! `lsmap -all | -vadapter vhostN [-type disk|lv|file|optical] [-field ... -fmt D]`; with
//! `-net`, the virtual Ethernet adapters and their bridges (in `netdev`).

use ivm_model::{BackingKind, Mapping, StorageView, SystemView};

use super::vios::{adapter, lun_text, physloc, ViosArgs};
use super::Ctx;
use crate::CliError;

/// Options of `lsmap`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

const FIELDS: &[&str] = &[
    "svsa",
    "physloc",
    "clientid",
    "vtd",
    "status",
    "lun",
    "backing",
    "bdphysloc",
    "mirrored",
];

pub(super) fn run(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["vadapter", "type", "fmt"], &["all", "net"])?;
    if a.flag("net") {
        return super::netdev::lsmap_net(ctx, &a);
    }
    for f in &a.fields {
        if !FIELDS.contains(&f.as_str()) {
            return Err(CliError::Usage(format!(
                "The field {f} is not valid. Valid fields are: {}",
                FIELDS.join(" ")
            )));
        }
    }
    if let Some(t) = a.value("type") {
        if !["disk", "lv", "file", "optical"].contains(&t) {
            return Err(CliError::Usage(format!(
                "The type {t} is not valid. Valid types are: disk, lv, file, optical"
            )));
        }
    }
    let view: StorageView = ctx.client.storage()?;
    let sys: SystemView = ctx.client.system()?;
    let adapters: Vec<_> = match (a.value("vadapter"), a.flag("all")) {
        (Some(v), false) => vec![adapter(&view, v)?.clone()],
        (None, true) => view.adapters.clone(),
        _ => {
            return Err(CliError::Usage(
                "Usage: lsmap -all | -vadapter vhostN [-type T] [-field ... -fmt D]".into(),
            ))
        }
    };
    let mut out = String::new();
    for ad in &adapters {
        let svsa = format!("vhost{}", ad.vhost);
        let loc = physloc(&sys, ad);
        let client = format!("{:#010x}", ad.lpar_id);
        // Disks and optical devices, by LUN.
        let mut maps: Vec<Mapping> = view
            .mappings
            .iter()
            .filter(|m| m.vhost == ad.vhost)
            .cloned()
            .chain(
                view.optical
                    .iter()
                    .filter(|o| o.vhost == ad.vhost)
                    .map(|o| Mapping {
                        vtd: o.vtd.clone(),
                        lpar_id: o.lpar_id,
                        vhost: o.vhost,
                        lun: o.lun,
                        backing: o.media.clone().unwrap_or_default(),
                        kind: BackingKind::Optical,
                    }),
            )
            .filter(|m| a.value("type").is_none_or(|t| t == m.kind.as_str()))
            .collect();
        maps.sort_by_key(|m| m.lun);
        // With -type, adapters without a mapping of that type are not listed.
        if a.value("type").is_some() && maps.is_empty() {
            continue;
        }
        let adapter_vals = |f: &str| -> Option<String> {
            match f {
                "svsa" => Some(svsa.clone()),
                "physloc" => Some(loc.clone()),
                "clientid" => Some(client.clone()),
                _ => None,
            }
        };
        if let Some(d) = a.value("fmt") {
            let fields: Vec<&str> = if a.fields.is_empty() {
                FIELDS.to_vec()
            } else {
                a.fields.iter().map(String::as_str).collect()
            };
            let adapter_only: Vec<&str> = fields
                .iter()
                .copied()
                .filter(|f| adapter_vals(f).is_some())
                .collect();
            if maps.is_empty() || adapter_only.len() == fields.len() {
                let vals: Vec<String> = adapter_only
                    .iter()
                    .filter_map(|f| adapter_vals(f))
                    .collect();
                out.push_str(&vals.join(d));
                out.push('\n');
                continue;
            }
            // One line per adapter: its values, then each mapping's.
            let mut vals: Vec<String> = adapter_only
                .iter()
                .filter_map(|f| adapter_vals(f))
                .collect();
            for m in &maps {
                for f in &fields {
                    let v = match *f {
                        "vtd" => m.vtd.clone(),
                        "status" => "Available".into(),
                        "lun" => lun_text(m.lun),
                        "backing" => m.backing.clone(),
                        "bdphysloc" => String::new(),
                        "mirrored" => "N/A".into(),
                        _ => continue,
                    };
                    vals.push(v);
                }
            }
            out.push_str(&vals.join(d));
            out.push('\n');
            continue;
        }
        out.push_str(
            "SVSA            Physloc                                      Client Partition ID\n",
        );
        out.push_str(
            "--------------- -------------------------------------------- ------------------\n",
        );
        out.push_str(&format!("{svsa:<15} {loc:<44} {client}\n\n"));
        if maps.is_empty() {
            out.push_str("VTD                   NO VIRTUAL TARGET DEVICE FOUND\n\n");
        }
        for m in maps {
            out.push_str(&format!(
                "VTD                   {}\nStatus                Available\nLUN                   {}\nBacking device        {}\nPhysloc               \nMirrored              N/A\n\n",
                m.vtd,
                lun_text(m.lun),
                m.backing
            ));
        }
    }
    Ok(out)
}
