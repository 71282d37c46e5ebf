//! Direct kernel boot settings of a profile.

use ivm_model::{BootConfig, CloudInit};

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
        display: base.display,
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

/// Most bytes of a cloud-init seed's `user-data` (the NoCloud medium is a small disc).
pub const MAX_USER_DATA: usize = 64 << 10;
/// Most bytes of its `network-config`.
pub const MAX_NETWORK_CONFIG: usize = 16 << 10;

/// Checks a cloud-init seed: a hostname as DNS allows one (letters, digits, hyphens; labels of
/// at most 63, at most 253 in all), documents of bounded size without NUL bytes.
pub fn check_cloud_init(seed: &CloudInit) -> Result<(), RuleError> {
    let h = &seed.hostname;
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !h.is_empty() && (h.len() > 253 || !h.split('.').all(label_ok)) {
        return Err(RuleError::OutOfRange {
            attr: "cloud_init_hostname",
            value: h.escape_debug().to_string(),
            allowed: "a host name: labels of letters, digits and hyphens (at most 63 each, 253 in all), separated by dots".into(),
        });
    }
    for (attr, text, max) in [
        ("cloud_init_user_data", &seed.user_data, MAX_USER_DATA),
        (
            "cloud_init_network_config",
            &seed.network_config,
            MAX_NETWORK_CONFIG,
        ),
    ] {
        if text.len() > max || text.contains('\0') {
            return Err(RuleError::OutOfRange {
                attr,
                value: format!("({} bytes)", text.len()),
                allowed: format!("text of at most {max} bytes without NUL characters"),
            });
        }
    }
    Ok(())
}

/// The seed's `meta-data`: the instance ID (the same for the partition's life, so cloud-init
/// applies its per-instance settings once) and the hostname (the partition's name when unset).
pub fn cloud_init_meta_data(
    serial: &str,
    lpar_id: u32,
    lpar_name: &str,
    seed: &CloudInit,
) -> String {
    let host = if seed.hostname.is_empty() {
        // A partition name may hold what a hostname may not: keep what it may.
        let h: String = lpar_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        h.trim_matches('-').chars().take(63).collect()
    } else {
        seed.hostname.clone()
    };
    format!("instance-id: ivm-{serial}-lpar{lpar_id}\nlocal-hostname: {host}\n")
}

/// A partition's screen exists only when it was given a display adapter.
pub fn check_display(p: &ivm_model::Partition) -> Result<(), RuleError> {
    if p.boot.display == ivm_model::DisplayAdapter::None {
        return Err(RuleError::NoDisplay {
            name: p.name.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_init_seeds_are_checked_and_described() {
        let ok = CloudInit {
            hostname: "web-1.example".into(),
            user_data: "#cloud-config\n".into(),
            network_config: String::new(),
        };
        assert!(check_cloud_init(&ok).is_ok());
        for bad in ["-x", "a_b", "a..b", &"x".repeat(64)] {
            let s = CloudInit {
                hostname: bad.into(),
                ..ok.clone()
            };
            assert!(check_cloud_init(&s).is_err(), "{bad}");
        }
        let big = CloudInit {
            user_data: "x".repeat(MAX_USER_DATA + 1),
            ..ok.clone()
        };
        assert!(check_cloud_init(&big)
            .unwrap_err()
            .to_string()
            .contains("65536 bytes"));
        assert_eq!(
            cloud_init_meta_data("S1", 3, "Web Server_1", &CloudInit::default()),
            "instance-id: ivm-S1-lpar3\nlocal-hostname: web-server-1\n"
        );
        assert!(
            cloud_init_meta_data("S1", 3, "x", &ok).ends_with("local-hostname: web-1.example\n")
        );
    }

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
