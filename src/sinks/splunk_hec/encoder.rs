//! One delivery → one Splunk HEC event (the JSON envelope of `/services/collector/event`).
//!
//! Owns: the event form: `time` (epoch seconds with microseconds, from the object's `modified`), `source`
//! (the collection), `sourcetype` (configured, else `stix:<type>`), `index` (when configured), `event` (the
//! STIX object as the sink received it) and the indexed `fields`: `tlp`, `type`, `id`, and for STIX-pattern
//! indicators `observable_type` / `observable_value` (one string each, or arrays when the pattern has several
//! simple comparisons).
//!
//! Must never: do I/O, change the STIX object it wraps, or see the token. Writes straight into the caller's
//! buffer so that a batch is one growing `Vec` and not one `String` per event.

use super::HecConfig;
use crate::sinks::Delivery;
use crate::stix::pattern;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::io::Write;

/// Appends one event and a newline to `out`. Splunk reads concatenated JSON objects; the newline only helps
/// whoever reads a captured body.
pub fn encode_event(delivery: &Delivery, config: &HecConfig, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time\":");
    write_time(delivery.modified, out);

    out.extend_from_slice(b",\"source\":");
    write_str(&delivery.collection, out);

    out.extend_from_slice(b",\"sourcetype\":");
    match &config.sourcetype {
        Some(sourcetype) => write_str(sourcetype, out),
        None => {
            out.extend_from_slice(b"\"stix:");
            write_str_contents(&delivery.object_type, out);
            out.push(b'"');
        }
    }

    if let Some(index) = &config.index {
        out.extend_from_slice(b",\"index\":");
        write_str(index, out);
    }

    out.extend_from_slice(b",\"event\":");
    // Serializing a serde_json::Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &delivery.body);

    out.extend_from_slice(b",\"fields\":");
    let observables = indicator_observables(&delivery.body);
    write_fields(
        delivery.tlp.map_or("unknown", |tlp| tlp.as_str()),
        &delivery.object_type,
        &delivery.object_id,
        &observables,
        out,
    );

    out.extend_from_slice(b"}\n");
}

/// The simple comparisons of a STIX-pattern indicator as (`observable_type`, `value`) pairs, e.g.
/// (`ipv4-addr:value`, `198.51.100.7`), the same spelling the store's `indicators` index and `lookup` use.
/// Empty for other objects, other pattern languages, unparseable patterns and patterns with nothing
/// indexable.
fn indicator_observables(body: &Value) -> Vec<(String, String)> {
    // A pattern that does not parse gives no fields; the event itself still goes (validation is not ours).
    stix_pattern(body)
        .and_then(|pattern| pattern::parse(pattern).ok())
        .map(|tree| pattern::indexable_comparisons(&tree))
        .unwrap_or_default()
}

/// The `pattern` of an indicator whose pattern language is STIX (`pattern_type` absent means STIX: 2.0
/// indicators have no `pattern_type`).
fn stix_pattern(body: &Value) -> Option<&str> {
    if body.get("type").and_then(Value::as_str) != Some("indicator") {
        return None;
    }
    match body.get("pattern_type").and_then(Value::as_str) {
        None | Some("stix") => body.get("pattern").and_then(Value::as_str),
        Some(_) => None,
    }
}

/// The indexed fields object. HEC indexed fields must be flat: a string, or an array of strings for a
/// multivalue field; `observable_type` and `observable_value` are arrays (same order, same length) only when
/// there is more than one comparison, and absent when there is none.
pub(super) fn write_fields(
    tlp: &str,
    object_type: &str,
    object_id: &str,
    observables: &[(String, String)],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"tlp\":");
    write_str(tlp, out);
    out.extend_from_slice(b",\"type\":");
    write_str(object_type, out);
    out.extend_from_slice(b",\"id\":");
    write_str(object_id, out);
    match observables {
        [] => {}
        [(observable_type, value)] => {
            out.extend_from_slice(b",\"observable_type\":");
            write_str(observable_type, out);
            out.extend_from_slice(b",\"observable_value\":");
            write_str(value, out);
        }
        many => {
            out.extend_from_slice(b",\"observable_type\":");
            write_str_array(many.iter().map(|(t, _)| t.as_str()), out);
            out.extend_from_slice(b",\"observable_value\":");
            write_str_array(many.iter().map(|(_, v)| v.as_str()), out);
        }
    }
    out.push(b'}');
}

/// Epoch seconds with six decimals (`1700000000.123000`), exact for any instant, before 1970 included.
fn write_time(at: DateTime<Utc>, out: &mut Vec<u8>) {
    let micros = i128::from(at.timestamp_micros());
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000);
}

fn write_str(value: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    write_str_contents(value, out);
    out.push(b'"');
}

fn write_str_array<'a>(values: impl Iterator<Item = &'a str>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(value, out);
    }
    out.push(b']');
}

/// A JSON string's contents without the quotes: `"` and `\` escaped, control characters as `\n`, `\t`, … or
/// `\u00XX`. Everything else, non-ASCII included, is copied as UTF-8, as JSON allows.
fn write_str_contents(value: &str, out: &mut Vec<u8>) {
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsSettings;
    use crate::stix::tlp::Tlp;
    use chrono::TimeZone;
    use secrecy::SecretString;
    use serde_json::json;
    use std::time::Duration;

    fn config(index: Option<&str>, sourcetype: Option<&str>) -> HecConfig {
        HecConfig {
            name: "splunk".into(),
            url: "https://splunk.example.org:8088".parse().unwrap(),
            token: SecretString::from("00000000-0000-0000-0000-000000000000"),
            index: index.map(str::to_owned),
            sourcetype: sourcetype.map(str::to_owned),
            gzip: false,
            ack: false,
            ack_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            tls: TlsSettings::default(),
        }
    }

    fn indicator(tlp: Option<Tlp>) -> Delivery {
        Delivery {
            object_id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
            modified: Utc
                .with_ymd_and_hms(2024, 5, 1, 12, 30, 15)
                .unwrap()
                .checked_add_signed(chrono::Duration::milliseconds(250))
                .unwrap(),
            object_type: "indicator".into(),
            tlp,
            collection: "feed-a".into(),
            body: json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "pattern": "[ipv4-addr:value = '198.51.100.7']",
                "pattern_type": "stix",
                "valid_from": "2024-05-01T00:00:00Z"
            }),
            attempts: 0,
        }
    }

    fn encode(delivery: &Delivery, config: &HecConfig) -> (String, Value) {
        let mut out = Vec::new();
        encode_event(delivery, config, &mut out);
        let text = String::from_utf8(out).expect("UTF-8");
        let value = serde_json::from_str(text.trim_end()).expect("one JSON object");
        (text, value)
    }

    #[test]
    fn event_envelope() {
        let delivery = indicator(Some(Tlp::Green));
        let (text, event) = encode(&delivery, &config(Some("threat_intel"), None));
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with("}\n"));
        assert_eq!(event["time"], json!(1714566615.25));
        assert!(text.starts_with("{\"time\":1714566615.250000,"), "{text}");
        assert_eq!(event["source"], "feed-a");
        assert_eq!(event["sourcetype"], "stix:indicator");
        assert_eq!(event["index"], "threat_intel");
        assert_eq!(event["event"], delivery.body);
        assert_eq!(event["fields"]["tlp"], "green");
        assert_eq!(event["fields"]["type"], "indicator");
        assert_eq!(event["fields"]["id"], delivery.object_id);
        assert!(event.get("host").is_none());
    }

    #[test]
    fn configured_sourcetype_and_no_index() {
        let (_, event) = encode(
            &indicator(Some(Tlp::Amber)),
            &config(None, Some("stix:cti")),
        );
        assert_eq!(event["sourcetype"], "stix:cti");
        assert!(event.get("index").is_none());
        assert_eq!(event["fields"]["tlp"], "amber");
    }

    #[test]
    fn unknown_tlp_is_spelled_out() {
        let (_, event) = encode(&indicator(None), &config(None, None));
        assert_eq!(event["fields"]["tlp"], "unknown");
        let (_, event) = encode(&indicator(Some(Tlp::AmberStrict)), &config(None, None));
        assert_eq!(event["fields"]["tlp"], "amber+strict");
    }

    #[test]
    fn fields_are_flat_strings_or_string_arrays() {
        let mut out = Vec::new();
        write_fields("red", "indicator", "indicator--1", &[], &mut out);
        let fields: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            fields,
            json!({"tlp": "red", "type": "indicator", "id": "indicator--1"})
        );

        let one = [("ipv4-addr:value".to_owned(), "198.51.100.7".to_owned())];
        let mut out = Vec::new();
        write_fields("red", "indicator", "indicator--1", &one, &mut out);
        let fields: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(fields["observable_type"], "ipv4-addr:value");
        assert_eq!(fields["observable_value"], "198.51.100.7");

        let two = [
            ("domain-name:value".to_owned(), "evil.example".to_owned()),
            (
                "file:hashes.'SHA-256'".to_owned(),
                "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899".to_owned(),
            ),
        ];
        let mut out = Vec::new();
        write_fields("red", "indicator", "indicator--1", &two, &mut out);
        let fields: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            fields["observable_type"],
            json!(["domain-name:value", "file:hashes.'SHA-256'"])
        );
        assert_eq!(
            fields["observable_value"],
            json!([
                "evil.example",
                "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"
            ])
        );
    }

    #[test]
    fn strings_are_escaped() {
        let mut delivery = indicator(None);
        delivery.collection = "quote\" back\\ nl\n tab\t bell\u{7} é".into();
        let (text, event) = encode(&delivery, &config(Some("a\"b"), None));
        assert_eq!(text.matches('\n').count(), 1);
        assert_eq!(event["source"], "quote\" back\\ nl\n tab\t bell\u{7} é");
        assert_eq!(event["index"], "a\"b");
        assert!(text.contains("bell\\u0007"), "{text}");
    }

    #[test]
    fn time_before_1970_and_whole_seconds() {
        let mut out = Vec::new();
        write_time(
            Utc.timestamp_opt(-2, 500_000_000).single().unwrap(),
            &mut out,
        );
        assert_eq!(out, b"-1.500000");
        let mut out = Vec::new();
        write_time(
            Utc.timestamp_opt(1_700_000_000, 0).single().unwrap(),
            &mut out,
        );
        assert_eq!(out, b"1700000000.000000");
    }

    #[test]
    fn indicator_observables_become_fields() {
        let (_, event) = encode(&indicator(Some(Tlp::Green)), &config(None, None));
        assert_eq!(event["fields"]["observable_type"], "ipv4-addr:value");
        assert_eq!(event["fields"]["observable_value"], "198.51.100.7");

        let mut several = indicator(Some(Tlp::Green));
        several.body["pattern"] = json!(
            "[domain-name:value = 'EVIL.example'] OR [file:hashes.'SHA-256' = 'AABB' AND file:name = 'x.exe']"
        );
        let (_, event) = encode(&several, &config(None, None));
        assert_eq!(
            event["fields"]["observable_type"],
            json!(["domain-name:value", "file:hashes.'SHA-256'", "file:name"])
        );
        assert_eq!(
            event["fields"]["observable_value"],
            json!(["evil.example", "aabb", "x.exe"])
        );

        let mut broken = indicator(Some(Tlp::Green));
        broken.body["pattern"] = json!("[ipv4-addr:value = ");
        let (_, event) = encode(&broken, &config(None, None));
        assert!(event["fields"].get("observable_type").is_none());
        assert_eq!(event["event"]["pattern"], "[ipv4-addr:value = ");
    }

    #[test]
    fn only_stix_pattern_indicators_have_a_pattern() {
        assert!(stix_pattern(&indicator(None).body).is_some());
        assert!(stix_pattern(&json!({"type": "indicator", "pattern": "[x:y = 'z']"})).is_some());
        assert!(stix_pattern(
            &json!({"type": "indicator", "pattern_type": "sigma", "pattern": "title: x"})
        )
        .is_none());
        assert!(stix_pattern(&json!({"type": "sighting", "pattern": "[x:y = 'z']"})).is_none());
    }
}
