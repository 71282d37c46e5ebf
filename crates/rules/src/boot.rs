//! Direct kernel boot settings of a profile.

use ivm_model::BootConfig;

use crate::RuleError;

/// Applies requested boot settings to `base`; `Some("")` unsets a value.
pub fn resolve_boot(
    base: &BootConfig,
    kernel: Option<&str>,
    initrd: Option<&str>,
    args: Option<&str>,
) -> Result<BootConfig, RuleError> {
    let next = BootConfig {
        boot_kernel: kernel.map_or_else(|| base.boot_kernel.clone(), str::to_string),
        boot_initrd: initrd.map_or_else(|| base.boot_initrd.clone(), str::to_string),
        boot_args: args.map_or_else(|| base.boot_args.clone(), str::to_string),
        boot_firmware: base.boot_firmware,
    };
    for (attr, path) in [
        ("boot_kernel", &next.boot_kernel),
        ("boot_initrd", &next.boot_initrd),
    ] {
        if !path.is_empty()
            && (!path.starts_with('/') || path.len() > 4096 || path.chars().any(char::is_control))
        {
            return Err(RuleError::OutOfRange {
                attr,
                value: path.clone(),
                allowed: "an absolute path on the host".into(),
            });
        }
    }
    if next.boot_kernel.is_empty() && !next.boot_initrd.is_empty() {
        return Err(RuleError::Missing("boot_kernel (boot_initrd needs it)"));
    }
    if next.boot_args.len() > 2048 || next.boot_args.chars().any(char::is_control) {
        return Err(RuleError::OutOfRange {
            attr: "boot_args",
            value: format!("({} characters)", next.boot_args.len()),
            allowed: "at most 2048 characters on one line".into(),
        });
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_unset_and_check() {
        let b = resolve_boot(
            &BootConfig::default(),
            Some("/k"),
            Some("/i"),
            Some("console=ttyS0 quiet"),
        )
        .unwrap();
        assert_eq!(b.boot_kernel, "/k");
        let kept = resolve_boot(&b, None, None, Some("console=ttyS0")).unwrap();
        assert_eq!(
            (kept.boot_initrd.as_str(), kept.boot_args.as_str()),
            ("/i", "console=ttyS0")
        );
        assert!(resolve_boot(&b, Some("relative/k"), None, None).is_err());
        assert!(
            resolve_boot(&b, Some(""), None, None).is_err(),
            "initrd without kernel"
        );
        let cleared = resolve_boot(&b, Some(""), Some(""), Some("")).unwrap();
        assert_eq!(cleared, BootConfig::default());
        assert!(resolve_boot(&b, None, None, Some("a\nb")).is_err());
    }
}
