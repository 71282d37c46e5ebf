//! Rules for ivm user accounts.

use crate::RuleError;

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
