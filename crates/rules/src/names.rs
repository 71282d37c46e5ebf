//! Partition names and IDs.

use ivm_model::{Partition, MGMT_PARTITION_ID};

use crate::RuleError;

/// Checks IVM's naming rule: 1..31 characters of letters, digits and `. _ - + #`, not
/// starting with `-` (so a name is never taken for an option).
pub fn validate_partition_name(name: &str) -> Result<(), RuleError> {
    let bad = |reason| RuleError::InvalidName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.chars().count() > 31 {
        return Err(bad("it is longer than 31 characters"));
    }
    if name.starts_with('-') {
        return Err(bad("it starts with '-'"));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '#');
    if !name.chars().all(ok) {
        return Err(bad(
            "only letters, digits and . _ - + # are allowed (no blanks or commas)",
        ));
    }
    Ok(())
}

/// Lowest client partition ID not in use.
pub fn lowest_free_id(existing: &[Partition], max_lpars: u32) -> Result<u32, RuleError> {
    let mut used: Vec<u32> = existing.iter().map(|p| p.lpar_id).collect();
    used.sort_unstable();
    let mut candidate = MGMT_PARTITION_ID + 1;
    for id in used {
        if id == candidate {
            candidate += 1;
        } else if id > candidate {
            break;
        }
    }
    if candidate > max_lpars {
        return Err(RuleError::NoFreeId(max_lpars));
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "web01", "db.prod-1", "x_y+z#2", &"n".repeat(31)] {
            validate_partition_name(ok).unwrap();
        }
        for bad in [
            "",
            "has blank",
            "a,b",
            "-x",
            &"n".repeat(32),
            "a/b",
            "quote\"",
            "tab\t",
        ] {
            assert!(validate_partition_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
