//! Conformance cases: the validator's verdict on every case under `tests/conformance/` must stay the one
//! recorded in `tests/conformance/expected.json`, which `scripts/conformance.py` writes after comparing
//! `taxii-relay validate` with the OASIS reference validator (`stix2-validator`). No Python here: a change
//! of verdict fails until the script is rerun and the new figure reviewed. Every case on which the two
//! validators disagree must carry a note saying which one is wrong and why (a STIX 2.1 section).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use taxii_relay::stix::{normalize, validate::validate};

/// One entry of `expected.json`.
#[derive(Debug, Deserialize)]
struct Expected {
    stix2_validator: bool,
    relay: bool,
    agree: bool,
    note: String,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// `<type>/<name>.json` for every case file, sorted.
fn case_files(dir: &Path) -> Vec<String> {
    let mut cases = Vec::new();
    for type_dir in std::fs::read_dir(dir).expect("tests/conformance exists") {
        let type_dir = type_dir.unwrap().path();
        if !type_dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&type_dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "json") {
                let relative = file.strip_prefix(dir).unwrap();
                let parts: Vec<_> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                cases.push(parts.join("/"));
            }
        }
    }
    cases.sort();
    cases
}

/// The verdict `validate` gives the case, with 2.0 content normalized first as at ingest.
fn relay_verdict(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap();
    let mut object: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    if normalize::is_stix_20(&object, "2.1") && normalize::normalize_20(&mut object).is_err() {
        return false;
    }
    // The command line refuses a document without `type` before validating (not_stix); `validate`
    // refuses it too (missing_property), so the verdict is the same either way.
    validate(&object).is_valid()
}

#[test]
fn conformance_verdicts_match_the_reference() {
    let dir = cases_dir();
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
    let expected: BTreeMap<String, Expected> = serde_json::from_str(&text).expect("expected.json");

    let on_disk = case_files(&dir);
    let recorded: Vec<String> = expected.keys().cloned().collect();
    assert_eq!(
        on_disk, recorded,
        "the case files and expected.json differ: rerun scripts/conformance.py"
    );
    assert!(
        on_disk.len() >= 150,
        "only {} conformance cases",
        on_disk.len()
    );

    let mut changed = Vec::new();
    let mut unexplained = Vec::new();
    for (case, entry) in &expected {
        assert_eq!(
            entry.agree,
            entry.stix2_validator == entry.relay,
            "{case}: `agree` does not match the two verdicts"
        );
        if !entry.agree && entry.note.trim().is_empty() {
            unexplained.push(case.as_str());
        }
        let verdict = relay_verdict(&dir.join(case));
        if verdict != entry.relay {
            changed.push(format!(
                "{case}: recorded {}, now {}",
                if entry.relay { "valid" } else { "invalid" },
                if verdict { "valid" } else { "invalid" }
            ));
        }
    }
    assert!(
        unexplained.is_empty(),
        "disagreements with stix2-validator without a note: {unexplained:?}"
    );
    assert!(
        changed.is_empty(),
        "{} verdict(s) changed since expected.json was recorded (rerun scripts/conformance.py and review the \
         agreement figure):\n{}",
        changed.len(),
        changed.join("\n")
    );
}
