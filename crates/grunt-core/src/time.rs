//! Timestamps as every grunt file stores them: UTC, `%Y-%m-%d %H:%M:%S %Z`, one line
//! (`2026-11-21 09:30:00 UTC`), shown to people in local time.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

/// The format of every timestamp in grunt's files.
pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S %Z";

/// Now, formatted for a file.
pub fn now() -> String {
    format(Utc::now())
}

/// A time formatted for a file.
pub fn format(t: DateTime<Utc>) -> String {
    t.format(FORMAT).to_string()
}

/// Parses a timestamp as written by grunt, the original's Python (`strftime("%Z")`) or
/// `date -u`. The zone must be UTC or GMT: those are the only ones the protocol writes.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let (stamp, zone) = text.rsplit_once(' ')?;
    if !matches!(zone, "UTC" | "GMT" | "Z" | "+0000") {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()?;
    Some(Utc.from_utc_datetime(&naive))
}

/// A file's timestamp in the viewer's local time, or the text itself when it is not a
/// timestamp (the original shows such text unchanged).
pub fn to_local(text: &str) -> String {
    match parse(text) {
        Some(t) => t
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => text.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 0).unwrap();
        assert_eq!(format(t), "2026-11-21 09:30:00 UTC");
        assert_eq!(parse("2026-11-21 09:30:00 UTC\n"), Some(t));
        assert_eq!(parse("2026-11-21 09:30:00 GMT"), Some(t));
    }

    #[test]
    fn non_timestamps_are_none() {
        assert_eq!(parse("job.out\nresult.csv"), None);
        assert_eq!(parse("2026-11-21 09:30:00 EST"), None);
        assert_eq!(to_local("hello"), "hello");
    }
}
