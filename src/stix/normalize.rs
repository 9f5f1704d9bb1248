//! STIX 2.0 → 2.1 normalization, applied before validation so that everything stored is STIX 2.1.
//!
//! Owns: the renames and additions of the STIX 2.1 specification's "changes from 2.0" that a relay can make
//! without inventing facts. Must never: do I/O, or guess a value a producer did not give; what cannot be
//! converted is refused with a [`Reason`] and goes to quarantine.

use super::Reason;
use serde_json::{Map, Value};

/// Whether an object is STIX 2.0 content: it says `spec_version: "2.0"`, or says nothing and came from a
/// 2.0 source (STIX 2.0 objects carry no `spec_version` of their own; 2.1 SDOs and SROs must).
pub fn is_stix_20(object: &Value, source_spec_version: &str) -> bool {
    match object.get("spec_version").and_then(Value::as_str) {
        Some(v) => v == "2.0",
        None => source_spec_version == "2.0",
    }
}

/// In 2.0, `labels` carried what 2.1 gives its own `*_types` property (required in 2.0, open vocabulary).
fn types_property(object_type: &str) -> Option<&'static str> {
    Some(match object_type {
        "indicator" => "indicator_types",
        "malware" => "malware_types",
        "report" => "report_types",
        "threat-actor" => "threat_actor_types",
        "tool" => "tool_types",
        _ => return None,
    })
}

/// STIX Cyber-observable types: in 2.0 they only lived inside observed-data, and carry no `spec_version`.
fn is_observable(object_type: &str) -> bool {
    matches!(
        object_type,
        "artifact"
            | "autonomous-system"
            | "directory"
            | "domain-name"
            | "email-addr"
            | "email-message"
            | "file"
            | "ipv4-addr"
            | "ipv6-addr"
            | "mac-addr"
            | "mutex"
            | "network-traffic"
            | "process"
            | "software"
            | "url"
            | "user-account"
            | "windows-registry-key"
            | "x509-certificate"
    )
}

/// Converts a STIX 2.0 object to 2.1 in place:
/// - `spec_version: "2.1"` on every object but cyber-observables;
/// - `labels` of indicator, malware, report, threat-actor and tool become `indicator_types`, `malware_types`,
///   `report_types`, `threat_actor_types`, `tool_types` (the 2.1 `labels` stays for other, free-form tags);
/// - indicator gains `pattern_type: "stix"` (2.0 patterns are STIX patterns);
/// - malware gains `is_family: true` (2.0 malware described families: the 2.0 spec's `labels` vocabulary
///   names families and the elevator does the same);
/// - `report.object_refs` must not be empty in 2.1 (nor in 2.0): an empty one is refused.
pub fn normalize_20(object: &mut Value) -> Result<(), Reason> {
    let Some(map) = object.as_object_mut() else {
        return Err(Reason::new(
            "not_an_object",
            "",
            "a STIX object must be a JSON object",
        ));
    };
    let object_type = map
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !is_observable(&object_type) {
        map.insert("spec_version".into(), Value::from("2.1"));
    }
    if let Some(types_key) = types_property(&object_type) {
        move_labels(map, types_key);
    }
    match object_type.as_str() {
        "indicator" => {
            map.entry("pattern_type")
                .or_insert_with(|| Value::from("stix"));
        }
        "malware" => {
            map.entry("is_family").or_insert(Value::Bool(true));
        }
        "report" => {
            let empty = map
                .get("object_refs")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty);
            if empty {
                return Err(Reason::new(
                    "not_convertible",
                    "object_refs",
                    "a STIX 2.0 report with no object_refs has no 2.1 form",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn move_labels(map: &mut Map<String, Value>, types_key: &str) {
    if map.contains_key(types_key) {
        return;
    }
    if let Some(labels) = map.remove("labels") {
        map.insert(types_key.to_owned(), labels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indicator_labels_become_indicator_types() {
        let mut o = json!({"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "labels": ["malicious-activity"], "pattern": "[ipv4-addr:value = '1.2.3.4']",
            "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
            "valid_from": "2017-01-01T00:00:00Z"});
        normalize_20(&mut o).unwrap();
        assert_eq!(o["spec_version"], "2.1");
        assert_eq!(o["pattern_type"], "stix");
        assert_eq!(o["indicator_types"], json!(["malicious-activity"]));
        assert!(o.get("labels").is_none());
    }

    #[test]
    fn malware_becomes_a_family_and_keeps_its_types() {
        let mut o = json!({"type": "malware", "labels": ["ransomware"], "name": "x"});
        normalize_20(&mut o).unwrap();
        assert_eq!(o["malware_types"], json!(["ransomware"]));
        assert_eq!(o["is_family"], true);
        let mut o = json!({"type": "malware", "is_family": false, "name": "x"});
        normalize_20(&mut o).unwrap();
        assert_eq!(o["is_family"], false, "what the producer said stays");
    }

    #[test]
    fn other_labels_stay_and_observables_get_no_spec_version() {
        let mut o = json!({"type": "attack-pattern", "labels": ["x"]});
        normalize_20(&mut o).unwrap();
        assert_eq!(o["labels"], json!(["x"]));
        assert_eq!(o["spec_version"], "2.1");
        let mut o = json!({"type": "ipv4-addr", "value": "1.2.3.4"});
        normalize_20(&mut o).unwrap();
        assert!(o.get("spec_version").is_none());
    }

    #[test]
    fn what_cannot_be_converted_is_refused() {
        let mut o = json!({"type": "report", "object_refs": []});
        assert_eq!(normalize_20(&mut o).unwrap_err().code, "not_convertible");
    }

    #[test]
    fn detects_20_content() {
        assert!(is_stix_20(&json!({"type": "x"}), "2.0"));
        assert!(!is_stix_20(&json!({"type": "x"}), "2.1"));
        assert!(is_stix_20(
            &json!({"type": "x", "spec_version": "2.0"}),
            "2.1"
        ));
        assert!(!is_stix_20(
            &json!({"type": "x", "spec_version": "2.1"}),
            "2.0"
        ));
    }
}
