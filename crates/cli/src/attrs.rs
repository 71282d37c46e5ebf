//! `-i` attributes turned into the JSON the daemon takes, each value checked for its type.

use ivm_model::{BootMode, LparEnv, MemMode, ProcMode, ProcUnits, SharingMode};
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
    "auto_start",
    "boot_mode",
    "max_virtual_slots",
    "boot_kernel",
    "boot_initrd",
    "boot_args",
];

/// Attributes IVM knows that ivm does not yet let a command set.
const NOT_YET: &[&str] = &[
    "virtual_eth_adapters",
    "virtual_scsi_adapters",
    "virtual_serial_adapters",
    "virtual_fc_adapters",
    "io_slots",
    "mem_weight",
    "primary_paging_vios_id",
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
        "uncap_weight" => number::<u8>(attr, value, "a whole number from 0 to 255 is required"),
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
        "lpar_env" => enum_value::<LparEnv>(attr, value),
        "proc_mode" => enum_value::<ProcMode>(attr, value),
        "sharing_mode" => enum_value::<SharingMode>(attr, value),
        "mem_mode" => enum_value::<MemMode>(attr, value),
        "boot_mode" => enum_value::<BootMode>(attr, value),
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
        let e = to_json(&pairs(&[("virtual_eth_adapters", "2/0/1//0/0")]), &all)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not supported"), "{e}");
        assert!(to_json(&pairs(&[("name", "a"), ("name", "b")]), &all).is_err());
        assert!(to_json(&pairs(&[("desired_proc_units", "0.333")]), &all).is_err());
    }
}
