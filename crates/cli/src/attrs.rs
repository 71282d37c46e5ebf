//! `-i` attributes turned into the JSON the daemon takes, each value checked for its type.

use ivm_model::{
    BootFirmware, BootMode, DisplayAdapter, LparEnv, MemMode, ProcMode, ProcUnits, SharingMode,
};
use serde_json::{Map, Value};

use crate::CliError;

/// A profile's resource and boot attributes: what `mksyscfg` sets and `chsyscfg -r prof` changes.
pub const PROFILE: &[&str] = &[
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
    "mem_weight",
    "auto_start",
    "boot_mode",
    "max_virtual_slots",
    "boot_kernel",
    "boot_initrd",
    "boot_args",
    "boot_firmware",
    "display",
    "virtual_eth_adapters",
];

/// Attributes IVM knows that ivm does not yet let a command set.
const NOT_YET: &[&str] = &[
    "virtual_scsi_adapters",
    "virtual_serial_adapters",
    "virtual_fc_adapters",
    "io_slots",
    "primary_paging_vios_id",
];

/// Attributes `lssyscfg -r prof` prints with the only values ivm has for them: a profile line
/// a client printed, edited and passes back to `mksyscfg` or `chsyscfg` may carry them with
/// those values (or empty), and they change nothing.
const AS_PRINTED: &[(&str, &[&str])] = &[
    ("all_resources", &["0"]),
    ("io_slots", &["none"]),
    ("lpar_io_pool_ids", &["none"]),
    (
        "virtual_serial_adapters",
        &[crate::records::SERIAL_ADAPTERS, "none"],
    ),
    ("virtual_scsi_adapters", &["none"]),
    ("virtual_fc_adapters", &["none"]),
    ("conn_monitoring", &["0"]),
    ("power_ctrl_lpar_ids", &["none"]),
    ("lhea_logical_ports", &["none"]),
    ("lhea_capabilities", &["none"]),
    ("lpar_proc_compat_mode", &["default"]),
    ("work_group_id", &["none"]),
];

fn invalid(attr: &str, value: &str, need: &str) -> CliError {
    CliError::Usage(format!(
        "The value '{value}' of attribute {attr} is not valid: {need}."
    ))
}

fn enum_value<T: std::str::FromStr<Err = ivm_model::UnknownValue>>(
    attr: &str,
    value: &str,
) -> Result<Value, CliError> {
    value
        .parse::<T>()
        .map(|_| Value::String(value.into()))
        .map_err(|e| invalid(attr, value, &format!("use one of {}", e.allowed)))
}

fn number<T: std::str::FromStr + Into<Value>>(
    attr: &str,
    value: &str,
    need: &str,
) -> Result<Value, CliError> {
    value
        .parse::<T>()
        .map(Into::into)
        .map_err(|_| invalid(attr, value, need))
}

/// An adapter list (`3/0/1//0/0,4/0/2//0/0`, or `none`) as JSON. Additional VLAN IDs are
/// separated by commas too, so a piece joins the next until it has its six fields.
fn eth_adapters(value: &str) -> Result<Value, CliError> {
    if value.is_empty() || value == "none" {
        return Ok(Value::Array(Vec::new()));
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for piece in value.split(',') {
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(piece);
        if current.matches('/').count() >= 5 {
            let a = ivm_model::VirtualEthAdapter::parse(&current)
                .map_err(|e| invalid("virtual_eth_adapters", value, &e))?;
            out.push(serde_json::to_value(a).unwrap_or_default());
            current.clear();
        }
    }
    if !current.is_empty() {
        let e = ivm_model::VirtualEthAdapter::parse(&current).unwrap_err();
        return Err(invalid("virtual_eth_adapters", value, &e));
    }
    Ok(Value::Array(out))
}

/// The JSON value for one attribute, or why it is wrong.
fn convert(attr: &str, value: &str) -> Result<Value, CliError> {
    match attr {
        "name" | "new_name" | "profile_name" | "lpar_name" | "boot_kernel" | "boot_initrd"
        | "boot_args" => Ok(Value::String(value.into())),
        "lpar_id" | "min_procs" | "desired_procs" | "max_procs" | "max_virtual_slots" => {
            number::<u32>(attr, value, "a whole number is required")
        }
        "min_mem" | "desired_mem" | "max_mem" => {
            number::<u64>(attr, value, "a whole number of megabytes is required")
        }
        "uncap_weight" | "mem_weight" => {
            number::<u8>(attr, value, "a whole number from 0 to 255 is required")
        }
        "min_proc_units" | "desired_proc_units" | "max_proc_units" => value
            .parse::<ProcUnits>()
            .map(|u| Value::from(u.as_f64()))
            .map_err(|_| {
                invalid(
                    attr,
                    value,
                    "a number with at most two decimals is required",
                )
            }),
        "auto_start" => match value {
            "0" => Ok(Value::Bool(false)),
            "1" => Ok(Value::Bool(true)),
            _ => Err(invalid(attr, value, "use 0 or 1")),
        },
        "virtual_eth_adapters" => eth_adapters(value),
        "virtual_eth_mac_base_value" => Ok(Value::String(value.into())),
        "lpar_env" => enum_value::<LparEnv>(attr, value),
        "proc_mode" => enum_value::<ProcMode>(attr, value),
        "sharing_mode" => enum_value::<SharingMode>(attr, value),
        "mem_mode" => enum_value::<MemMode>(attr, value),
        "boot_mode" => enum_value::<BootMode>(attr, value),
        "boot_firmware" => enum_value::<BootFirmware>(attr, value),
        "display" => enum_value::<DisplayAdapter>(attr, value),
        _ => Err(CliError::Usage(format!(
            "An invalid attribute was entered: {attr}"
        ))),
    }
}

/// Checks every pair against the attributes a command accepts and builds the JSON object.
pub fn to_json(
    pairs: &[(String, String)],
    allowed: &[&str],
) -> Result<Map<String, Value>, CliError> {
    let mut out = Map::new();
    for (attr, value) in pairs {
        // `lssyscfg -r prof` calls the environment os_type, as IVM does.
        let attr = if attr == "os_type" {
            &"lpar_env".to_string()
        } else {
            attr
        };
        if let Some((_, values)) = AS_PRINTED.iter().find(|(a, _)| a == attr) {
            if value.is_empty() || values.contains(&value.as_str()) {
                continue;
            }
        }
        // The profile's partition named again (a printed line carries it): it must match.
        if attr == "lpar_name" && !allowed.contains(&"lpar_name") {
            let name = pairs.iter().find(|(a, _)| a == "name").map(|(_, v)| v);
            if name == Some(value) {
                continue;
            }
        }
        if NOT_YET.contains(&attr.as_str()) {
            return Err(CliError::Usage(format!(
                "The attribute {attr} is not supported by this version of ivm."
            )));
        }
        if !allowed.contains(&attr.as_str()) {
            return Err(CliError::Usage(format!(
                "An invalid attribute was entered: {attr}"
            )));
        }
        if out.contains_key(attr) {
            return Err(CliError::Usage(format!(
                "The attribute {attr} was entered more than once."
            )));
        }
        out.insert(attr.clone(), convert(attr, value)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn converts_and_names_the_bad_attribute() {
        let all = [
            "name",
            "desired_mem",
            "desired_proc_units",
            "auto_start",
            "proc_mode",
            "virtual_eth_adapters",
        ];
        let m = to_json(
            &pairs(&[
                ("name", "a"),
                ("desired_mem", "512"),
                ("desired_proc_units", "0.5"),
                ("auto_start", "1"),
            ]),
            &all,
        )
        .unwrap();
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"name":"a","desired_mem":512,"desired_proc_units":0.5,"auto_start":true})
        );
        let e = to_json(&pairs(&[("desired_mem", "lots")]), &all)
            .unwrap_err()
            .to_string();
        assert!(e.contains("desired_mem") && e.contains("lots"), "{e}");
        let e = to_json(&pairs(&[("proc_mode", "dedicated")]), &all)
            .unwrap_err()
            .to_string();
        assert!(e.contains("use one of ded, shared"), "{e}");
        let e = to_json(&pairs(&[("colour", "red")]), &all)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "An invalid attribute was entered: colour");
        let e = to_json(
            &pairs(&[("virtual_scsi_adapters", "2/client/1/vhost0/2/0")]),
            &all,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not supported"), "{e}");
        let v = to_json(
            &pairs(&[("virtual_eth_adapters", "3/0/1//0/0,4/1/2/5,6/1/0")]),
            &all,
        )
        .unwrap();
        let list = v["virtual_eth_adapters"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1]["addl_vlan_ids"], serde_json::json!([5, 6]));
        assert_eq!(
            to_json(&pairs(&[("virtual_eth_adapters", "none")]), &all).unwrap()
                ["virtual_eth_adapters"],
            serde_json::json!([])
        );
        let e = to_json(&pairs(&[("virtual_eth_adapters", "3/0/1//0")]), &all)
            .unwrap_err()
            .to_string();
        assert!(e.contains("six fields"), "{e}");
        assert!(to_json(&pairs(&[("name", "a"), ("name", "b")]), &all).is_err());
        assert!(to_json(&pairs(&[("desired_proc_units", "0.333")]), &all).is_err());
    }
}
