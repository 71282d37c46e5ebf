//! IVM's configuration-data syntax (`-i` and `--filter`): `attr=value` pairs joined by commas;
//! a pair whose value holds commas is wrapped in double quotes (`"attr=a,b"`).

use crate::CliError;

/// Splits `-i` configuration data into `(attribute, value)` pairs, in order; a value with
/// commas must be quoted.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, CliError> {
    split(text, false)
}

/// Splits a `--filter` value: as [`parse`], but a piece without `=` continues the previous value
/// as a further list element, so the unquoted `lpar_names=a,b` means `"lpar_names=a,b"`.
pub fn parse_filter(text: &str) -> Result<Vec<(String, String)>, CliError> {
    split(text, true)
}

fn split(text: &str, continuation: bool) -> Result<Vec<(String, String)>, CliError> {
    let invalid = || CliError::Usage("The format of the configuration data is invalid.".into());
    let mut pieces = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => pieces.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err(invalid());
    }
    pieces.push(cur);
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in pieces {
        let piece = piece.trim();
        match piece.split_once('=') {
            Some((attr, value)) => {
                let attr = attr.trim();
                if attr.is_empty() || !attr.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(invalid());
                }
                out.push((attr.to_string(), value.trim().to_string()));
            }
            None => match out.last_mut() {
                Some((_, value)) if continuation && !piece.is_empty() => {
                    value.push(',');
                    value.push_str(piece);
                }
                _ => return Err(invalid()),
            },
        }
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
    fn plain_quoted_and_continued() {
        assert_eq!(
            parse("name=a,desired_mem=512").unwrap(),
            pairs(&[("name", "a"), ("desired_mem", "512")])
        );
        assert_eq!(
            parse("name=a,\"boot_args=console=ttyS0 quiet\"").unwrap(),
            pairs(&[("name", "a"), ("boot_args", "console=ttyS0 quiet")])
        );
        assert_eq!(
            parse("\"lpar_names=a,b\",lpar_ids=3").unwrap(),
            pairs(&[("lpar_names", "a,b"), ("lpar_ids", "3")])
        );
        assert_eq!(
            parse_filter("lpar_names=a,b").unwrap(),
            pairs(&[("lpar_names", "a,b")])
        );
        assert!(parse("name=a,b").is_err());
        assert_eq!(parse("auto_start=").unwrap(), pairs(&[("auto_start", "")]));
    }

    #[test]
    fn malformed() {
        for bad in ["", "noequals", "=x", "a=1,,b=2", "\"a=1", "na me=x", ",a=1"] {
            let e = parse(bad).unwrap_err().to_string();
            assert_eq!(
                e, "The format of the configuration data is invalid.",
                "{bad}"
            );
        }
    }
}
