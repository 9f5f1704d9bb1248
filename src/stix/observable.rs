//! The one normal form of observable values, shared by the `indicators` index and `lookup`, so that
//! "do we know this?" matches however a producer spelled the value.
//!
//! Owns: case and notation rules per observable property. Must never: do I/O.

/// Normalizes `value` of `object_type:property_path`: hashes, domain names, email addresses and IPv6
/// addresses lower-case; single-host CIDR suffixes (`/32` on IPv4, `/128` on IPv6) dropped.
pub fn normalize_value(object_type: &str, property_path: &str, value: &str) -> String {
    let lower = property_path.starts_with("hashes.")
        || matches!(
            (object_type, property_path),
            ("domain-name", "value") | ("email-addr", "value") | ("ipv6-addr", "value")
        );
    let value = value.trim();
    let value = match (object_type, property_path) {
        ("ipv4-addr", "value") => value.strip_suffix("/32").unwrap_or(value),
        ("ipv6-addr", "value") => value.strip_suffix("/128").unwrap_or(value),
        _ => value,
    };
    if lower {
        value.to_ascii_lowercase()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        assert_eq!(normalize_value("file", "hashes.'SHA-256'", "AEC0"), "aec0");
        assert_eq!(normalize_value("file", "hashes.MD5", "ABCD"), "abcd");
        assert_eq!(
            normalize_value("domain-name", "value", "Evil.Example"),
            "evil.example"
        );
        assert_eq!(
            normalize_value("email-addr", "value", "A@B.example"),
            "a@b.example"
        );
        assert_eq!(
            normalize_value("ipv4-addr", "value", "198.51.100.1/32"),
            "198.51.100.1"
        );
        assert_eq!(
            normalize_value("ipv4-addr", "value", "198.51.100.0/24"),
            "198.51.100.0/24"
        );
        assert_eq!(
            normalize_value("ipv6-addr", "value", "2001:DB8::1/128"),
            "2001:db8::1"
        );
        assert_eq!(
            normalize_value("url", "value", "http://X.example/A"),
            "http://X.example/A"
        );
        assert_eq!(normalize_value("file", "name", "Evil.EXE"), "Evil.EXE");
    }
}
