//! What the VIOS storage commands share: their argument style (`-sp NAME`, `-field a b c`,
//! `-fmt D`, flags), IVM's names for adapters and locations, and column output.

use ivm_model::{StorageView, SystemView, VirtualScsiAdapter};

use crate::CliError;

/// Arguments as a VIOS command takes them: options with one value, `-field` with several,
/// flags, and positional words.
#[derive(Debug, Default)]
pub struct ViosArgs {
    values: Vec<(String, String)>,
    /// Fields after `-field`.
    pub fields: Vec<String>,
    flags: Vec<String>,
    /// Words that belong to no option.
    pub positional: Vec<String>,
}

impl ViosArgs {
    /// Parses `args`: `with_value` options take the next word, `flags` take none, `-field`
    /// takes every word up to the next option.
    pub fn parse(
        args: &[String],
        with_value: &[&str],
        flags: &[&str],
    ) -> Result<ViosArgs, CliError> {
        let mut out = ViosArgs::default();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "-field" {
                i += 1;
                while i < args.len() && !args[i].starts_with('-') {
                    out.fields.push(args[i].to_lowercase());
                    i += 1;
                }
                if out.fields.is_empty() {
                    return Err(CliError::Usage(
                        "-field needs at least one field name".into(),
                    ));
                }
                continue;
            }
            if let Some(name) = a.strip_prefix('-').filter(|n| !n.is_empty()) {
                if with_value.contains(&name) {
                    let v = args.get(i + 1).ok_or_else(|| {
                        CliError::Usage(format!("The flag -{name} needs a value."))
                    })?;
                    out.values.push((name.to_string(), v.clone()));
                    i += 2;
                    continue;
                }
                if flags.contains(&name) {
                    out.flags.push(name.to_string());
                    i += 1;
                    continue;
                }
                if name.parse::<i64>().is_err() {
                    return Err(CliError::Usage(format!(
                        "The flag -{name} is not valid for this command."
                    )));
                }
            }
            out.positional.push(a.clone());
            i += 1;
        }
        Ok(out)
    }

    /// The value of option `-name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Option `-name`, required.
    pub fn required(&self, name: &str) -> Result<&str, CliError> {
        self.value(name)
            .ok_or_else(|| CliError::Usage(format!("The flag -{name} is required.")))
    }

    /// Sets (or clears) option `-name`.
    pub fn set_value(&mut self, name: &str, value: Option<&str>) {
        self.values.retain(|(n, _)| n != name);
        if let Some(v) = value {
            self.values.push((name.to_string(), v.to_string()));
        }
    }

    /// Whether flag `-name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

/// A record as named fields, for `-field ... -fmt D` and column output.
pub type Row = Vec<(&'static str, String)>;

/// Prints rows: `-field` picks and orders fields; `-fmt D` joins values with D (no header);
/// without `-fmt`, columns with a header.
pub fn render(
    rows: &[Row],
    headers: &[(&'static str, &'static str, usize)],
    a: &ViosArgs,
) -> Result<String, CliError> {
    let known: Vec<&str> = headers.iter().map(|h| h.0).collect();
    for f in &a.fields {
        if !known.contains(&f.as_str()) {
            return Err(CliError::Usage(format!(
                "The field {f} is not valid. Valid fields are: {}",
                known.join(" ")
            )));
        }
    }
    let chosen: Vec<&(&str, &str, usize)> = if a.fields.is_empty() {
        headers.iter().collect()
    } else {
        a.fields
            .iter()
            .filter_map(|f| headers.iter().find(|h| h.0 == f))
            .collect()
    };
    let get = |row: &Row, key: &str| {
        row.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut out = String::new();
    if let Some(d) = a.value("fmt") {
        for row in rows {
            let vals: Vec<String> = chosen.iter().map(|h| get(row, h.0)).collect();
            out.push_str(&vals.join(d));
            out.push('\n');
        }
        return Ok(out);
    }
    let line = |cells: Vec<String>| {
        let mut l = String::new();
        for (h, c) in chosen.iter().zip(cells) {
            l.push_str(&format!("{c:<width$} ", width = h.2));
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(chosen.iter().map(|h| h.1.to_string()).collect()));
    for row in rows {
        out.push_str(&line(chosen.iter().map(|h| get(row, h.0)).collect()));
    }
    Ok(out)
}

/// The physical location code of a server adapter, `U<type-model>.<serial>-V1-C<slot>`.
pub fn physloc(sys: &SystemView, a: &VirtualScsiAdapter) -> String {
    format!(
        "U{}.{}-V{}-C{}",
        sys.system.type_model, sys.system.serial_num, sys.mgmt_lpar_id, a.server_slot
    )
}

/// The LUN as `lsmap` prints it (`0x8100000000000000` for LUN 0).
pub fn lun_text(lun: u32) -> String {
    format!("{:#018x}", (0x81u64 + u64::from(lun)) << 56)
}

/// The adapter `vhostN`, or exit status 15 as IVM's `lsmap` has it.
pub fn adapter<'a>(view: &'a StorageView, name: &str) -> Result<&'a VirtualScsiAdapter, CliError> {
    name.strip_prefix("vhost")
        .and_then(|n| n.parse::<u32>().ok())
        .and_then(|n| view.adapters.iter().find(|a| a.vhost == n))
        .ok_or_else(|| CliError::Exit {
            code: 15,
            message: format!("Device \"{name}\" is not a Server Virtual SCSI Adapter (SVSA)."),
        })
}

/// Parses an IVM size (`10G`, `512M`, `2048B`) into MB.
pub fn size_mb(text: &str) -> Result<u64, CliError> {
    ivm_rules::parse_size(text).map_err(|e| CliError::Usage(e.to_string()))
}
