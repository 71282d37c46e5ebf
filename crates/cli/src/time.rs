//! Timestamps in IVM's `MM/DD/YYYY HH:MM:SS` form (UTC).

/// Formats milliseconds since the Unix epoch.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{month:02}/{day:02}/{year} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Milliseconds since the Unix epoch of a UTC date and time, or none for an impossible one.
pub fn utc_ms(year: i64, month: u32, day: u32, hour: u32, minute: u32) -> Option<i64> {
    let days_in = |y: i64, m: u32| match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    };
    if !(1970..=9999).contains(&year)
        || day == 0
        || day > days_in(year, month)
        || hour > 23
        || minute > 59
    {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + i64::from(hour)) * 60 + i64::from(minute)) * 60_000)
}

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The time now, in IVM's form.
pub fn now_text() -> String {
    format_utc(now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_instants_and_back() {
        let ms = utc_ms(2026, 11, 25, 23, 5).unwrap();
        assert_eq!(format_utc(ms), "11/25/2026 23:05:00");
        assert_eq!(
            utc_ms(2024, 2, 29, 0, 0).map(format_utc).as_deref(),
            Some("02/29/2024 00:00:00")
        );
        assert_eq!(utc_ms(2026, 2, 29, 0, 0), None);
        assert_eq!(utc_ms(2026, 13, 1, 0, 0), None);
        assert_eq!(utc_ms(2026, 1, 1, 24, 0), None);
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "01/01/1970 00:00:00");
        assert_eq!(format_utc(1_795_487_905_116), "11/24/2026 02:38:25");
        assert_eq!(format_utc(951_782_400_000), "02/29/2000 00:00:00");
    }
}
