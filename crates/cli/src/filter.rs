//! `--filter "lpar_names=a,b"`, `lpar_ids=2,3`, `profile_names=p`.

use ivm_model::Partition;

use crate::{configdata, CliError};

/// Which partitions a listing keeps.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filter {
    names: Option<Vec<String>>,
    ids: Option<Vec<u32>>,
    profiles: Option<Vec<String>>,
}

impl Filter {
    /// Parses a filter, accepting only the filter names in `allowed`.
    pub fn parse(text: Option<&str>, allowed: &[&str]) -> Result<Filter, CliError> {
        let mut f = Filter::default();
        let Some(text) = text else { return Ok(f) };
        for (name, value) in configdata::parse_filter(text)? {
            if !allowed.contains(&name.as_str()) {
                return Err(CliError::Usage(format!(
                    "An invalid filter was entered: {name}. Valid filters are: {}",
                    allowed.join(", ")
                )));
            }
            let list: Vec<String> = value
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if list.is_empty() {
                return Err(CliError::Usage(format!(
                    "The filter {name} needs at least one value."
                )));
            }
            match name.as_str() {
                "lpar_names" => f.names = Some(list),
                "profile_names" => f.profiles = Some(list),
                "lpar_ids" => {
                    let ids = list
                        .iter()
                        .map(|v| {
                            v.parse().map_err(|_| {
                                CliError::Usage(format!("Invalid partition ID '{v}' in lpar_ids."))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    f.ids = Some(ids);
                }
                _ => unreachable!("allowed filters are handled above"),
            }
        }
        Ok(f)
    }

    /// Whether the partition (and its one profile) passes.
    pub fn keeps(&self, p: &Partition) -> bool {
        self.names.as_ref().is_none_or(|n| n.contains(&p.name))
            && self.ids.as_ref().is_none_or(|i| i.contains(&p.lpar_id))
            && self.profiles.as_ref().is_none_or(|n| n.contains(&p.name))
    }
}
