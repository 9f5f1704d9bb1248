//! Timestamps on the TAXII wire: lenient reading of what servers send, strict writing of what we send.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// Reads a server's date header (`X-TAXII-Date-Added-Last`, `Date`) leniently: RFC 3339 with any precision or
/// offset, RFC 3339 without an offset (taken as UTC), HTTP dates, and the JavaScript `Date.toString()` form
/// MITRE's server has sent (`Thu Feb 20 2020 15:12:27 GMT+0000 (Coordinated Universal Time)`).
/// `None` when nothing fits: callers then use the documented fallback, never fail.
pub fn parse_lenient(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Some(t.and_utc());
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(value) {
        return Some(t.with_timezone(&Utc));
    }
    // JavaScript's Date.toString(): drop the "(zone name)" suffix, then read "GMT+hhmm".
    let without_zone_name = value.split(" (").next().unwrap_or(value).trim();
    if let Ok(t) = DateTime::parse_from_str(without_zone_name, "%a %b %d %Y %H:%M:%S GMT%z") {
        return Some(t.with_timezone(&Utc));
    }
    None
}

/// Formats `added_after` as servers accept it: UTC, `Z`, milliseconds, or microseconds when the value has them
/// (some servers refuse a timestamp without fractional seconds; none refuse milliseconds).
pub fn format_added_after(t: DateTime<Utc>) -> String {
    if t.nanosecond().is_multiple_of(1_000_000) {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    } else {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn reads_the_forms_servers_send() {
        let expected = utc("2020-02-20T15:12:27Z");
        for form in [
            "2020-02-20T15:12:27Z",
            "2020-02-20T15:12:27.000Z",
            "2020-02-20T15:12:27.000000Z",
            "2020-02-20T16:12:27.000+01:00",
            "2020-02-20T15:12:27.000000",
            "Thu, 20 Feb 2020 15:12:27 GMT",
            "Thu Feb 20 2020 15:12:27 GMT+0000 (Coordinated Universal Time)",
            "Thu Feb 20 2020 16:12:27 GMT+0100 (Central European Standard Time)",
        ] {
            assert_eq!(parse_lenient(form), Some(expected), "{form}");
        }
        assert_eq!(
            parse_lenient("2020-02-20T15:12:27.123456Z"),
            Some(utc("2020-02-20T15:12:27.123456Z"))
        );
        assert_eq!(parse_lenient("yesterday"), None);
        assert_eq!(parse_lenient(""), None);
    }

    #[test]
    fn writes_utc_with_at_least_milliseconds() {
        assert_eq!(
            format_added_after(utc("2025-01-01T00:00:00Z")),
            "2025-01-01T00:00:00.000Z"
        );
        assert_eq!(
            format_added_after(utc("2025-01-01T01:00:00+01:00")),
            "2025-01-01T00:00:00.000Z"
        );
        assert_eq!(
            format_added_after(utc("2025-01-01T00:00:00.123456Z")),
            "2025-01-01T00:00:00.123456Z"
        );
    }
}
