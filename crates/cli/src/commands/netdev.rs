//! Devices as the VIOS lists them: `lsdev [-virtual | -type T | -dev NAME [-attr [A]]]
//! [-field ... -fmt D]`, `rmdev -dev NAME`, `mkvdev -sea`, and `lsmap -net`.

use ivm_model::{EthDevice, EthDeviceKind, NetworkView, SeaRequest, StorageView, SystemView};

use super::vios::{render, Row, ViosArgs};
use super::Ctx;
use crate::CliError;

/// Options of `lsdev` and `rmdev`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

const HEADERS: &[(&str, &str, usize)] = &[
    ("name", "name", 16),
    ("status", "status", 11),
    ("description", "description", 0),
];

/// A device line: name, status, description, and whether it is virtual and an adapter.
struct Dev {
    name: String,
    status: String,
    description: String,
    virtual_dev: bool,
    adapter: bool,
    disk: bool,
}

fn ent_row(d: &EthDevice) -> Dev {
    Dev {
        name: d.name.clone(),
        status: d.status().into(),
        description: d.description(),
        virtual_dev: d.kind != EthDeviceKind::Physical,
        adapter: true,
        disk: false,
    }
}

fn devices(net: &NetworkView, st: &StorageView) -> Vec<Dev> {
    let mut out: Vec<Dev> = net.devices.iter().map(ent_row).collect();
    out.extend(st.hdisks.iter().filter(|h| h.present).map(|h| Dev {
        name: h.name.clone(),
        status: "Available".into(),
        description: format!("Physical volume ({})", h.device),
        virtual_dev: false,
        adapter: false,
        disk: true,
    }));
    out.extend(st.adapters.iter().map(|a| Dev {
        name: format!("vhost{}", a.vhost),
        status: "Available".into(),
        description: "Virtual SCSI Server Adapter".into(),
        virtual_dev: true,
        adapter: true,
        disk: false,
    }));
    out.extend(st.mappings.iter().map(|m| Dev {
        name: m.vtd.clone(),
        status: "Available".into(),
        description: match m.kind {
            ivm_model::BackingKind::Disk => "Virtual Target Device - Disk".into(),
            _ => "Virtual Target Device - Logical Volume".into(),
        },
        virtual_dev: true,
        adapter: false,
        disk: false,
    }));
    out.extend(st.optical.iter().map(|o| Dev {
        name: o.vtd.clone(),
        status: "Available".into(),
        description: "Virtual Target Device - File-backed Optical".into(),
        virtual_dev: true,
        adapter: false,
        disk: false,
    }));
    out
}

fn no_device(name: &str) -> CliError {
    CliError::Api {
        status: 404,
        message: format!("Device \"{name}\" is not found; lsdev lists the devices there are."),
    }
}

/// The attributes `lsdev -dev entN -attr` shows: (attribute, value, description, settable).
fn ent_attrs(d: &EthDevice) -> Vec<(&'static str, String, &'static str, &'static str)> {
    let pvid = d.pvid.map(|p| p.to_string()).unwrap_or_default();
    match d.kind {
        EthDeviceKind::Physical => vec![
            (
                "ifname",
                d.ifname.clone(),
                "Linux network interface",
                "False",
            ),
            ("mac_addr", d.mac.clone(), "Hardware address", "False"),
        ],
        EthDeviceKind::Virtual => vec![
            (
                "ifname",
                d.ifname.clone(),
                "Linux bridge of the virtual Ethernet ID",
                "False",
            ),
            ("pvid", pvid, "Port VLAN ID (virtual Ethernet ID)", "False"),
            (
                "slot_num",
                d.slot.map(|s| s.to_string()).unwrap_or_default(),
                "Virtual slot of the management partition",
                "False",
            ),
        ],
        EthDeviceKind::Sea => vec![
            (
                "ha_mode",
                "disabled".into(),
                "High Availability Mode",
                "True",
            ),
            (
                "ifname",
                d.ifname.clone(),
                "Linux bridge of the virtual Ethernet ID",
                "False",
            ),
            ("pvid", pvid, "PVID to use for the SEA device", "True"),
            (
                "pvid_adapter",
                d.vadapter.clone().unwrap_or_default(),
                "Default virtual adapter to use for non-VLAN-tagged packets",
                "True",
            ),
            (
                "real_adapter",
                d.phys.clone().unwrap_or_default(),
                "Physical adapter associated with the SEA",
                "True",
            ),
            (
                "virt_adapters",
                d.vadapter.clone().unwrap_or_default(),
                "List of virtual adapters associated with the SEA (comma separated)",
                "True",
            ),
        ],
    }
}

pub(super) fn lsdev(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(
        &a.args,
        &["dev", "type", "fmt"],
        &["virtual", "attr", "state"],
    )?;
    let net: NetworkView = ctx.client.network()?;
    if let Some(name) = a.value("dev") {
        if a.flag("attr") {
            let d = net
                .devices
                .iter()
                .find(|d| d.name == name)
                .ok_or_else(|| {
                    if name.starts_with("ent") {
                        no_device(name)
                    } else {
                        CliError::Usage(format!(
                            "lsdev -attr shows the attributes of Ethernet devices (entN); {name} has none to show"
                        ))
                    }
                })?;
            let attrs = ent_attrs(d);
            if let Some(want) = a.positional.first() {
                let (_, v, _, _) =
                    attrs.iter().find(|x| x.0 == want.as_str()).ok_or_else(|| {
                        let names: Vec<&str> = attrs.iter().map(|x| x.0).collect();
                        CliError::Usage(format!(
                            "{name} has no attribute {want}. Its attributes are: {}",
                            names.join(" ")
                        ))
                    })?;
                return Ok(format!("value\n\n{v}\n"));
            }
            let rows: Vec<Row> = attrs
                .into_iter()
                .map(|(n, v, desc, set)| {
                    vec![
                        ("attribute", n.to_string()),
                        ("value", v),
                        ("description", desc.to_string()),
                        ("user_settable", set.to_string()),
                    ]
                })
                .collect();
            return render(
                &rows,
                &[
                    ("attribute", "attribute", 13),
                    ("value", "value", 18),
                    ("description", "description", 66),
                    ("user_settable", "user_settable", 0),
                ],
                &a,
            );
        }
    }
    if let Some(extra) = a.positional.first() {
        return Err(CliError::Usage(format!(
            "{extra} is not expected here; usage: lsdev [-virtual | -type adapter|disk|sea | -dev NAME [-attr [ATTR]]] [-field ... -fmt D]"
        )));
    }
    let st: StorageView = ctx.client.storage()?;
    let all = devices(&net, &st);
    let chosen: Vec<&Dev> = if let Some(name) = a.value("dev") {
        vec![all
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| no_device(name))?]
    } else if let Some(t) = a.value("type") {
        let keep: fn(&Dev) -> bool = match t {
            "adapter" => |d| d.adapter,
            "disk" => |d| d.disk,
            "sea" | "ent4sea" => |d| d.description.starts_with("Shared Ethernet Adapter"),
            _ => {
                return Err(CliError::Usage(format!(
                    "The type {t} is not valid. Valid types are: adapter, disk, sea"
                )))
            }
        };
        all.iter().filter(|d| keep(d)).collect()
    } else if a.flag("virtual") {
        all.iter().filter(|d| d.virtual_dev).collect()
    } else {
        all.iter().collect()
    };
    let rows: Vec<Row> = chosen
        .iter()
        .map(|d| {
            vec![
                ("name", d.name.clone()),
                ("status", d.status.clone()),
                ("description", d.description.clone()),
            ]
        })
        .collect();
    render(&rows, HEADERS, &a)
}

pub(super) fn rmdev(ctx: &Ctx, a: Args) -> Result<String, CliError> {
    let a = ViosArgs::parse(&a.args, &["dev"], &["recursive", "ucfg"])?;
    let name = a
        .value("dev")
        .ok_or_else(|| CliError::Usage("Usage: rmdev -dev NAME".into()))?;
    if name.starts_with("vtscsi") || name.starts_with("vtopt") {
        ctx.client.remove_mapping(name)?;
    } else if name.starts_with("ent") {
        ctx.client.remove_eth_device(name)?;
    } else {
        return Err(CliError::Usage(format!(
            "{name} cannot be removed with rmdev: it removes virtual Ethernet bridges (entN) and virtual target devices (vtscsiN, vtoptN)"
        )));
    }
    Ok(format!("{name} deleted\n"))
}

/// `mkvdev -sea PHYS -vadapter VEA -default VEA -defaultid PVID`.
pub(super) fn mkvdev_sea(ctx: &Ctx, a: &ViosArgs) -> Result<String, CliError> {
    let id = a
        .value("defaultid")
        .map(|v| {
            v.parse::<u16>().map_err(|_| {
                CliError::Usage(format!(
                    "-defaultid {v} is not a virtual Ethernet ID (1 to 4094)"
                ))
            })
        })
        .transpose()?;
    let d = ctx.client.create_sea(&SeaRequest {
        phys: a.required("sea")?.to_string(),
        vadapter: a.required("vadapter")?.to_string(),
        default_adapter: a.value("default").map(str::to_string),
        default_id: id,
    })?;
    Ok(format!("{} Available\n", d.name))
}

const NET_FIELDS: &[&str] = &["svea", "physloc", "sea", "backing", "status", "bdphysloc"];

/// The location code of the management partition's virtual adapter in `slot`.
fn vea_physloc(sys: &SystemView, slot: u32) -> String {
    format!(
        "U{}.{}-V{}-C{slot}-T1",
        sys.system.type_model, sys.system.serial_num, sys.mgmt_lpar_id
    )
}

/// `lsmap -all -net | -vadapter entN -net [-field ... -fmt D]`.
pub(super) fn lsmap_net(ctx: &Ctx, a: &ViosArgs) -> Result<String, CliError> {
    for f in &a.fields {
        if !NET_FIELDS.contains(&f.as_str()) {
            return Err(CliError::Usage(format!(
                "The field {f} is not valid. Valid fields are: {}",
                NET_FIELDS.join(" ")
            )));
        }
    }
    let net: NetworkView = ctx.client.network()?;
    let sys: SystemView = ctx.client.system()?;
    let virt: Vec<&EthDevice> = match (a.value("vadapter"), a.flag("all")) {
        (Some(v), false) => vec![net
            .devices
            .iter()
            .find(|d| d.name == v && d.kind == EthDeviceKind::Virtual)
            .ok_or_else(|| CliError::Exit {
                code: 16,
                message: format!("Device \"{v}\" is not a Server Virtual Ethernet Adapter (SVEA)."),
            })?],
        (None, true) => net
            .devices
            .iter()
            .filter(|d| d.kind == EthDeviceKind::Virtual)
            .collect(),
        _ => {
            return Err(CliError::Usage(
                "Usage: lsmap -all -net | -vadapter entN -net [-field ... -fmt D]".into(),
            ))
        }
    };
    let phys_loc = |name: &str| {
        let ifname = net
            .devices
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.ifname.clone())
            .unwrap_or_default();
        format!(
            "U{}.{}-P1-{ifname}",
            sys.system.type_model, sys.system.serial_num
        )
    };
    let mut out = String::new();
    for v in virt {
        let loc = vea_physloc(&sys, v.slot.unwrap_or(0));
        let sea = net
            .devices
            .iter()
            .find(|d| d.kind == EthDeviceKind::Sea && d.vadapter.as_deref() == Some(&v.name));
        let value = |f: &str| -> Option<String> {
            match f {
                "svea" => Some(v.name.clone()),
                "physloc" => Some(loc.clone()),
                _ => {
                    let s = sea?;
                    let phys = s.phys.clone().unwrap_or_default();
                    Some(match f {
                        "sea" => s.name.clone(),
                        "backing" => phys.clone(),
                        "status" => s.status().into(),
                        _ => phys_loc(&phys),
                    })
                }
            }
        };
        if let Some(d) = a.value("fmt") {
            let fields: Vec<&str> = if a.fields.is_empty() {
                NET_FIELDS.to_vec()
            } else {
                a.fields.iter().map(String::as_str).collect()
            };
            let vals: Vec<String> = fields.iter().filter_map(|f| value(f)).collect();
            if !vals.is_empty() {
                out.push_str(&vals.join(d));
                out.push('\n');
            }
            continue;
        }
        out.push_str("SVEA   Physloc\n");
        out.push_str("------ --------------------------------------------\n");
        out.push_str(&format!("{:<6} {loc}\n\n", v.name));
        match sea {
            Some(s) => {
                let phys = s.phys.clone().unwrap_or_default();
                out.push_str(&format!(
                    "SEA                   {}\nBacking device        {phys}\nStatus                {}\nPhysloc               {}\n\n",
                    s.name,
                    s.status(),
                    phys_loc(&phys)
                ));
            }
            None => out.push_str("SEA                   NO SHARED ETHERNET ADAPTER FOUND\n\n"),
        }
    }
    Ok(out)
}
