//! The STIX model the relay needs: reading bundles, an object's identity and version key, and the
//! machine-readable reasons an object is refused.
//!
//! Owns: everything that can be decided from the JSON alone. Must never: do I/O, know HTTP or SQL.

pub mod normalize;
pub mod observable;
pub mod pattern;
pub mod tlp;
pub mod validate;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why an object (or a whole page) was refused. Stored as JSON in `quarantine.reasons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Stable, machine-readable: `not_json`, `not_an_object`, `missing_property`, `invalid_id`, `invalid_timestamp`, …
    pub code: &'static str,
    /// The property concerned (`id`, `modified`, …); empty for the whole object or page.
    pub property: String,
    /// For people.
    pub message: String,
}

impl Reason {
    pub fn new(code: &'static str, property: &str, message: impl Into<String>) -> Self {
        Reason {
            code,
            property: property.to_owned(),
            message: message.into(),
        }
    }
}

/// How an object's version was determined (DESIGN: modified, else created, else a content hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    Modified,
    Created,
    /// No timestamp (SCOs): the version is the epoch and the content hash tells versions apart.
    ContentHash,
}

/// What the store needs to index one object version.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectKey {
    pub id: String,
    pub object_type: String,
    /// `modified`, else `created`, else the Unix epoch.
    pub modified: DateTime<Utc>,
    pub version_source: VersionSource,
    /// SHA-256 of the canonical JSON; set only when `version_source` is `ContentHash`.
    pub content_hash: Option<String>,
    pub spec_version: String,
    pub created: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// Reads the identity and version of one object. `default_spec_version` is what the source speaks
/// ("2.0" for a TAXII 2.0 server or a 2.0 bundle): STIX 2.0 objects carry no `spec_version` of their own.
pub fn object_key(object: &Value, default_spec_version: &str) -> Result<ObjectKey, Vec<Reason>> {
    let Some(map) = object.as_object() else {
        return Err(vec![Reason::new(
            "not_an_object",
            "",
            "a STIX object must be a JSON object",
        )]);
    };
    let mut reasons = Vec::new();
    let object_type = match map.get("type").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => {
            reasons.push(Reason::new(
                "missing_property",
                "type",
                "`type` is required and must be a non-empty string",
            ));
            String::new()
        }
    };
    let id = match map.get("id").and_then(Value::as_str) {
        Some(id) => {
            if !object_type.is_empty() && !id_matches_type(id, &object_type) {
                reasons.push(Reason::new(
                    "invalid_id",
                    "id",
                    format!("`id` {id:?} must be `{object_type}--<UUID>`"),
                ));
            }
            id.to_owned()
        }
        None => {
            reasons.push(Reason::new(
                "missing_property",
                "id",
                "`id` is required and must be a string",
            ));
            String::new()
        }
    };
    // Both databases keep microseconds: the version key has exactly that precision, so what is stored,
    // what the store returns and what the pipeline compares are the same instant.
    let modified = timestamp_property(object, "modified", &mut reasons).map(to_micros);
    let created = timestamp_property(object, "created", &mut reasons).map(to_micros);
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let (modified, version_source, content_hash) = match (modified, created) {
        (Some(m), _) => (m, VersionSource::Modified, None),
        (None, Some(c)) => (c, VersionSource::Created, None),
        (None, None) => (
            DateTime::<Utc>::UNIX_EPOCH,
            VersionSource::ContentHash,
            Some(content_hash(object)),
        ),
    };
    let spec_version = map
        .get("spec_version")
        .and_then(Value::as_str)
        .unwrap_or(default_spec_version)
        .to_owned();
    let revoked = map.get("revoked").and_then(Value::as_bool).unwrap_or(false);
    Ok(ObjectKey {
        id,
        object_type,
        modified,
        version_source,
        content_hash,
        spec_version,
        created,
        revoked,
    })
}

/// `type--UUID`, the UUID in its canonical 8-4-4-4-12 hexadecimal form.
fn id_matches_type(id: &str, object_type: &str) -> bool {
    let Some(uuid) = id
        .strip_prefix(object_type)
        .and_then(|rest| rest.strip_prefix("--"))
    else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn timestamp_property(
    object: &Value,
    property: &str,
    reasons: &mut Vec<Reason>,
) -> Option<DateTime<Utc>> {
    let value = object.get(property)?;
    match value.as_str().and_then(parse_timestamp) {
        Some(t) => Some(t),
        None => {
            reasons.push(Reason::new(
                "invalid_timestamp",
                property,
                format!("`{property}` must be an RFC 3339 timestamp, got {value}"),
            ));
            None
        }
    }
}

/// Truncates to whole microseconds (PostgreSQL's and the SQLite text form's precision).
fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// Parses a STIX timestamp (RFC 3339; STIX requires `Z`, but an explicit offset is read correctly too).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// SHA-256 (hex) of the object's canonical JSON (keys sorted at every level), so the same content
/// hashes the same whatever the key order a server sends.
pub fn content_hash(object: &Value) -> String {
    let mut canonical = Vec::new();
    write_canonical(object, &mut canonical);
    hex::encode(Sha256::digest(&canonical))
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String(k.clone()).to_string().as_bytes());
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

/// The objects of a STIX document: a bundle's `objects`, or a single object.
#[derive(Debug)]
pub struct Content {
    pub objects: Vec<Value>,
    /// "2.0" when the bundle declares `spec_version: "2.0"` (STIX 2.0 bundles do; 2.1 bundles do not).
    pub spec_version: Option<String>,
}

/// Reads a bundle or a single STIX object from JSON bytes.
pub fn parse_content(bytes: &[u8]) -> Result<Content, Reason> {
    let value: Value = parse_json(bytes)
        .map_err(|e| Reason::new("not_json", "", format!("not valid JSON: {e}")))?;
    content_from_value(value)
}

/// Parses JSON as producers write it: Python and JavaScript servers emit lone UTF-16 surrogate escapes
/// (`"\ud83d"`, half an emoji) that strict parsers refuse; one such string must not cost a whole page.
/// Only when the strict parse fails on one are they replaced by U+FFFD and the parse tried again.
pub fn parse_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        // serde_json words it "lone leading surrogate…" or "unexpected end of hex escape".
        Err(e) if e.to_string().contains("surrogate") || e.to_string().contains("hex escape") => {
            serde_json::from_slice(&replace_lone_surrogates(bytes)).map_err(|_| e)
        }
        result => result,
    }
}

/// `\uD800`-`\uDBFF` not followed by `\uDC00`-`\uDFFF`, and a `\uDC00`-`\uDFFF` not preceded by one, become
/// `\uFFFD`; everything else (escaped backslashes included) is copied as it is.
fn replace_lone_surrogates(bytes: &[u8]) -> Vec<u8> {
    fn unit_at(bytes: &[u8], i: usize) -> Option<u16> {
        if bytes.get(i) != Some(&b'\\') || bytes.get(i + 1) != Some(&b'u') {
            return None;
        }
        let hex = std::str::from_utf8(bytes.get(i + 2..i + 6)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    }
    let is_high = |u: u16| (0xD800..=0xDBFF).contains(&u);
    let is_low = |u: u16| (0xDC00..=0xDFFF).contains(&u);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match unit_at(bytes, i) {
            Some(high) if is_high(high) && unit_at(bytes, i + 6).is_some_and(is_low) => {
                out.extend_from_slice(&bytes[i..i + 12]);
                i += 12;
            }
            Some(unit) if is_high(unit) || is_low(unit) => {
                out.extend_from_slice(b"\\ufffd");
                i += 6;
            }
            _ => {
                // Any other escape: copy it whole, so `\\u…` (an escaped backslash) is left alone.
                out.extend_from_slice(&bytes[i..(i + 2).min(bytes.len())]);
                i += 2;
            }
        }
    }
    out
}

fn content_from_value(value: Value) -> Result<Content, Reason> {
    let Value::Object(mut map) = value else {
        return Err(Reason::new(
            "not_stix",
            "",
            "expected a STIX bundle or object (a JSON object)",
        ));
    };
    match map.get("type").and_then(Value::as_str) {
        Some("bundle") => {
            let spec_version = map
                .get("spec_version")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let objects = match map.remove("objects") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(objects)) => objects,
                Some(_) => {
                    return Err(Reason::new(
                        "not_stix",
                        "objects",
                        "a bundle's `objects` must be an array",
                    ))
                }
            };
            Ok(Content {
                objects,
                spec_version,
            })
        }
        Some(_) => Ok(Content {
            objects: vec![Value::Object(map)],
            spec_version: None,
        }),
        None => Err(Reason::new(
            "not_stix",
            "type",
            "expected a STIX bundle or object: no `type` property",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_key_prefers_modified_then_created_then_hash() {
        let sdo = json!({"type": "malware", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2020-01-01T00:00:00Z", "modified": "2021-01-01T00:00:00.123Z"});
        let key = object_key(&sdo, "2.1").unwrap();
        assert_eq!(key.version_source, VersionSource::Modified);
        assert_eq!(key.modified.to_rfc3339(), "2021-01-01T00:00:00.123+00:00");

        let marking = json!({"type": "marking-definition", "id": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            "created": "2017-01-20T00:00:00.000Z"});
        assert_eq!(
            object_key(&marking, "2.1").unwrap().version_source,
            VersionSource::Created
        );

        let sco = json!({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"});
        let key = object_key(&sco, "2.1").unwrap();
        assert_eq!(key.version_source, VersionSource::ContentHash);
        assert_eq!(key.modified, DateTime::<Utc>::UNIX_EPOCH);
        assert!(key.content_hash.is_some());
    }

    #[test]
    fn version_keys_have_microsecond_precision() {
        let o = json!({"type": "malware", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2024-01-01T00:00:00.1234567Z", "modified": "2024-01-01T00:00:00.1234567Z"});
        let key = object_key(&o, "2.1").unwrap();
        assert_eq!(
            key.modified.to_rfc3339(),
            "2024-01-01T00:00:00.123456+00:00"
        );
    }

    #[test]
    fn content_hash_ignores_key_order_but_not_values() {
        let a = json!({"type": "ipv4-addr", "value": "1.2.3.4", "x": {"b": 1, "a": [1, 2]}});
        let b = json!({"x": {"a": [1, 2], "b": 1}, "value": "1.2.3.4", "type": "ipv4-addr"});
        let c = json!({"x": {"a": [2, 1], "b": 1}, "value": "1.2.3.4", "type": "ipv4-addr"});
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&c));
    }

    #[test]
    fn refuses_objects_without_identity_with_reasons() {
        let reasons = object_key(&json!({"type": "indicator"}), "2.1").unwrap_err();
        assert_eq!(reasons[0].code, "missing_property");
        assert_eq!(reasons[0].property, "id");
        let reasons =
            object_key(&json!({"type": "indicator", "id": "malware--1"}), "2.1").unwrap_err();
        assert_eq!(reasons[0].code, "invalid_id");
        let reasons = object_key(
            &json!({"type": "indicator", "id": "indicator--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", "modified": "yesterday"}),
            "2.1",
        )
        .unwrap_err();
        assert_eq!(reasons[0].code, "invalid_timestamp");
    }

    #[test]
    fn lone_surrogates_do_not_cost_the_page() {
        let text = br#"{"a": "x\ud83d", "b": "\ud83d\ude00", "c": "\\ud83d", "d": "\udc00y"}"#;
        assert!(serde_json::from_slice::<Value>(text).is_err());
        let value = parse_json(text).unwrap();
        assert_eq!(value["a"], "x\u{fffd}");
        assert_eq!(value["b"], "\u{1f600}");
        assert_eq!(value["c"], "\\ud83d");
        assert_eq!(value["d"], "\u{fffd}y");
    }

    #[test]
    fn reads_bundles_and_single_objects() {
        let bundle = br#"{"type":"bundle","id":"bundle--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","spec_version":"2.0","objects":[{"type":"x"},{"type":"y"}]}"#;
        let content = parse_content(bundle).unwrap();
        assert_eq!(content.objects.len(), 2);
        assert_eq!(content.spec_version.as_deref(), Some("2.0"));
        assert_eq!(
            parse_content(br#"{"type":"malware"}"#)
                .unwrap()
                .objects
                .len(),
            1
        );
        assert_eq!(parse_content(b"{not json").unwrap_err().code, "not_json");
        assert_eq!(parse_content(b"[1,2]").unwrap_err().code, "not_stix");
    }
}
