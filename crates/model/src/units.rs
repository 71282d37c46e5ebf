//! Processing units, kept as exact hundredths so sums never drift.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Processing units in hundredths: `ProcUnits(100)` is one whole processor (1.00).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcUnits(pub u32);

/// A processing-unit value that is not a non-negative number with at most two decimals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a processing unit value (a number with at most two decimals, e.g. 0.25)")]
pub struct UnitsParseError(pub String);

impl ProcUnits {
    /// Zero units.
    pub const ZERO: ProcUnits = ProcUnits(0);

    /// Whole processors as units.
    pub fn from_procs(procs: u32) -> ProcUnits {
        ProcUnits(procs.saturating_mul(100))
    }

    /// The smallest whole number of processors that holds these units.
    pub fn ceil_procs(self) -> u32 {
        self.0.div_ceil(100)
    }

    /// Hundredths of a unit.
    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// The value as a float, for display and JSON.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// Converts a float that must lie on the 0.01 grid.
    pub fn from_f64(v: f64) -> Result<ProcUnits, UnitsParseError> {
        let scaled = v * 100.0;
        let rounded = scaled.round();
        if !v.is_finite()
            || v < 0.0
            || (scaled - rounded).abs() > 1e-6
            || rounded > f64::from(u32::MAX)
        {
            return Err(UnitsParseError(v.to_string()));
        }
        Ok(ProcUnits(rounded as u32))
    }
}

/// IVM's style: at least one decimal, two only when needed (`4.0`, `0.5`, `0.25`).
impl fmt::Display for ProcUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        if frac % 10 == 0 {
            write!(f, "{whole}.{}", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02}")
        }
    }
}

impl FromStr for ProcUnits {
    type Err = UnitsParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || UnitsParseError(s.to_string());
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.len() > 2 {
            return Err(bad());
        }
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(frac) {
            return Err(bad());
        }
        let whole: u32 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let frac: u32 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u32>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .map(ProcUnits)
            .ok_or_else(bad)
    }
}

impl Serialize for ProcUnits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for ProcUnits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        ProcUnits::from_f64(v).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for ProcUnits {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some(
                "Processing units, 1.00 = one processor, in steps of 0.01",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ProcUnits {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ivm_forms() {
        assert_eq!("0.5".parse::<ProcUnits>().unwrap(), ProcUnits(50));
        assert_eq!("0.05".parse::<ProcUnits>().unwrap(), ProcUnits(5));
        assert_eq!("2".parse::<ProcUnits>().unwrap(), ProcUnits(200));
        assert_eq!(".25".parse::<ProcUnits>().unwrap(), ProcUnits(25));
        for bad in ["", ".", "0.125", "-1", "1e2", "abc", "1.2.3", "99999999999"] {
            assert!(bad.parse::<ProcUnits>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn displays_two_decimals() {
        assert_eq!(ProcUnits(5).to_string(), "0.05");
        assert_eq!(ProcUnits(120).to_string(), "1.2");
        assert_eq!(ProcUnits(400).to_string(), "4.0");
        assert_eq!(ProcUnits(25).to_string(), "0.25");
    }

    #[test]
    fn json_is_a_number_on_the_grid() {
        assert_eq!(serde_json::to_string(&ProcUnits(25)).unwrap(), "0.25");
        assert_eq!(
            serde_json::from_str::<ProcUnits>("0.3").unwrap(),
            ProcUnits(30)
        );
        assert!(serde_json::from_str::<ProcUnits>("0.333").is_err());
        assert!(serde_json::from_str::<ProcUnits>("-0.5").is_err());
        assert_eq!(ProcUnits(250).ceil_procs(), 3);
        assert_eq!(ProcUnits(200).ceil_procs(), 2);
    }
}
