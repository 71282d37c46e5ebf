//! Rules for ivm user accounts.

use ivm_model::{Access, Role, PRIME_ADMIN};

use crate::RuleError;

/// Whether `user` with `role` may take an action declared `access`; `target` is the user the
/// action names, if any. `None` for `user` is a caller that has not logged in.
pub fn may(access: Access, user: Option<(&str, Role)>, target: Option<&str>) -> bool {
    let Some((name, role)) = user else {
        return access == Access::Anyone;
    };
    match access {
        Access::Anyone | Access::Viewer => true,
        Access::Console => role != Role::ViewOnly,
        Access::Modify => role.can_modify(),
        Access::SelfOrPadmin => name == PRIME_ADMIN || target == Some(name),
        Access::Padmin => name == PRIME_ADMIN,
    }
}

/// User names: 1..32 characters, a lowercase letter first, then lowercase letters, digits, `_`, `-`.
pub fn validate_user_name(name: &str) -> Result<(), RuleError> {
    let bad = |reason| RuleError::InvalidName {
        name: name.to_string(),
        reason,
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(bad("it is empty")),
        Some(c) if !c.is_ascii_lowercase() => {
            return Err(bad("it must start with a lowercase letter"))
        }
        _ => {}
    }
    if name.len() > 32 {
        return Err(bad("it is longer than 32 characters"));
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        return Err(bad(
            "only lowercase letters, digits, '_' and '-' are allowed",
        ));
    }
    Ok(())
}

/// Failed logins (for one address or one user) taken without delay.
pub const FREE_LOGIN_FAILURES: u32 = 3;
/// The longest wait a run of failed logins earns, in seconds.
pub const MAX_LOGIN_DELAY_SECS: u64 = 300;

/// How long to refuse logins after `failures` failed ones in a row: none for the first
/// [`FREE_LOGIN_FAILURES`], then 1 s doubling up to [`MAX_LOGIN_DELAY_SECS`].
pub fn login_delay_secs(failures: u32) -> u64 {
    match failures.checked_sub(FREE_LOGIN_FAILURES) {
        None => 0,
        Some(n) => 1u64
            .checked_shl(n)
            .unwrap_or(u64::MAX)
            .min(MAX_LOGIN_DELAY_SECS),
    }
}

/// Passwords: at least 8 characters, at most 128, no control characters.
pub fn validate_password(password: &str) -> Result<(), RuleError> {
    let n = password.chars().count();
    if !(8..=128).contains(&n) || password.chars().any(char::is_control) {
        return Err(RuleError::OutOfRange {
            attr: "password",
            value: format!("({n} characters)"),
            allowed: "8 to 128 characters without control characters".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_and_passwords() {
        validate_user_name("padmin").unwrap();
        validate_user_name("op_2-x").unwrap();
        for bad in ["", "Admin", "1abc", "a b", "a:b", &"a".repeat(33)] {
            assert!(validate_user_name(bad).is_err(), "{bad:?}");
        }
        validate_password("longenough").unwrap();
        assert!(validate_password("short").is_err());
        assert!(validate_password("with\nnewline").is_err());
    }
}

/// Checks one SSH public key line for `authorized_keys`: a key type, base64 data, and an
/// optional comment, on one line.
pub fn validate_ssh_key(key: &str) -> Result<(), RuleError> {
    let f: Vec<&str> = key.split_whitespace().collect();
    let typed = f
        .first()
        .is_some_and(|t| t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-"));
    let data = f.get(1).is_some_and(|d| {
        d.len() > 16
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
    });
    if typed && data && !key.contains(['\n', '\r']) {
        Ok(())
    } else {
        Err(RuleError::OutOfRange {
            attr: "key",
            value: key.chars().take(40).collect(),
            allowed: "one public key line: its type, the key, an optional comment (e.g. ssh-ed25519 AAAAC3Nza... user@host)".into(),
        })
    }
}

#[cfg(test)]
mod key_tests {
    use super::validate_ssh_key;

    #[test]
    fn ssh_keys_are_one_line_of_type_and_data() {
        assert!(validate_ssh_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE u@h").is_ok());
        for bad in [
            "",
            "ssh-ed25519",
            "rm -rf / AAAAAAAAAAAAAAAAAAAA",
            "ssh-rsa AAAA\nssh-rsa BBBB",
            "ssh-rsa short",
        ] {
            assert!(validate_ssh_key(bad).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod access_tests {
    use super::*;

    #[test]
    fn failed_logins_earn_a_doubling_delay() {
        let d: Vec<u64> = (0..8).map(login_delay_secs).collect();
        assert_eq!(d, [0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(login_delay_secs(40), MAX_LOGIN_DELAY_SECS);
        assert_eq!(login_delay_secs(u32::MAX), MAX_LOGIN_DELAY_SECS);
    }

    #[test]
    fn only_padmin_touches_others_and_nobody_but_padmin_touches_padmin() {
        let op = Some(("op1", Role::ViewModify));
        let view = Some(("viewer", Role::ViewOnly));
        let rep = Some(("rep", Role::ServiceRep));
        let padmin = Some((PRIME_ADMIN, Role::ViewModify));
        assert!(may(Access::Anyone, None, None));
        assert!(!may(Access::Viewer, None, None));
        assert!(may(Access::Viewer, view, None));
        assert!(!may(Access::Console, view, None));
        assert!(may(Access::Console, rep, None));
        assert!(!may(Access::Modify, rep, None));
        assert!(may(Access::Modify, op, None));
        assert!(may(Access::SelfOrPadmin, op, Some("op1")));
        assert!(!may(Access::SelfOrPadmin, op, Some(PRIME_ADMIN)));
        assert!(!may(Access::SelfOrPadmin, op, Some("viewer")));
        assert!(!may(Access::SelfOrPadmin, op, None));
        assert!(may(Access::SelfOrPadmin, padmin, Some("op1")));
        assert!(may(Access::SelfOrPadmin, view, Some("viewer")));
        assert!(!may(Access::Padmin, op, None));
        assert!(may(Access::Padmin, padmin, None));
    }
}
