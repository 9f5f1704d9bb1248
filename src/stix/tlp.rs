//! TLP: the five levels and their order, and the level of an object from the markings it carries.
//!
//! Owns: the five TLP 2.0 levels (TLP 1.0 WHITE is CLEAR), their total order and their spelling in config;
//! the well-known TLP marking-definition ids; reading a marking-definition object for the level it defines;
//! an object's own level from its object and granular markings; raising a relationship or sighting to the
//! levels of what it references; and removing, per sink, the references a report, grouping, note, opinion or
//! observed-data holds to objects above that sink's ceiling.
//!
//! Fails closed: a marking reference that cannot be resolved counts as red; a marking definition that says
//! it is TLP but whose level cannot be read counts as red; a feed cannot redefine a well-known id, nor lower
//! a level it defined before; a contained reference whose level is unknown is withheld from every sink below
//! red.
//!
//! Must never: guess a level from a substring of an id (ids are compared whole); do I/O, know HTTP or SQL, or
//! log. "Log an unresolvable marking once per id" is the caller's job: [`object_level`] returns those ids.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// A TLP level, ordered from least to most restricted: clear < green < amber < amber+strict < red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tlp {
    #[serde(rename = "clear", alias = "white")]
    Clear,
    #[serde(rename = "green")]
    Green,
    #[serde(rename = "amber")]
    Amber,
    #[serde(rename = "amber+strict")]
    AmberStrict,
    #[serde(rename = "red")]
    Red,
}

impl Tlp {
    /// The spelling used in config, in the database and in MISP tags (`tlp:` + this).
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tlp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().trim_start_matches("tlp:") {
            "clear" | "white" => Ok(Tlp::Clear),
            "green" => Ok(Tlp::Green),
            "amber" => Ok(Tlp::Amber),
            "amber+strict" => Ok(Tlp::AmberStrict),
            "red" => Ok(Tlp::Red),
            other => Err(format!(
                "unknown TLP level {other:?}; expected clear, green, amber, amber+strict or red"
            )),
        }
    }
}

/// The id of the OASIS TLP 2.0 extension definition. A TLP 2.0 marking definition carries
/// `extensions: {<this id>: {"extension_type": "property-extension", "tlp_2_0": "<level>"}}`.
pub const TLP_2_0_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Marking-definition ids whose level is fixed by a standard, not by a feed: TLP 1.0 (STIX 2.1 §7.2.1.4),
/// TLP 2.0 (the OASIS extension's definitions) and OpenCTI's TLP:AMBER+STRICT (OpenCTI uses the TLP 1.0 ids
/// for its other TLP levels).
#[rustfmt::skip]
pub const WELL_KNOWN_MARKINGS: [(&str, Tlp); 10] = [
    // TLP 1.0
    ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::Clear),
    ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::Green),
    ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::Amber),
    ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::Red),
    // TLP 2.0
    ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", Tlp::Clear),
    ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", Tlp::Green),
    ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", Tlp::Amber),
    ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp::AmberStrict),
    ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", Tlp::Red),
    // OpenCTI
    ("marking-definition--826578e1-40ad-459f-bc73-ede076f81f37", Tlp::AmberStrict),
];

/// The level of a well-known marking id (TLP 1.0, TLP 2.0, OpenCTI's amber+strict). The whole id must
/// match exactly: an id that merely contains a well-known id, or spells it in another case, is not it.
pub fn well_known(marking_id: &str) -> Option<Tlp> {
    WELL_KNOWN_MARKINGS
        .iter()
        .find(|(id, _)| *id == marking_id)
        .map(|&(_, level)| level)
}

/// What a marking-definition object says about TLP, if anything. Three forms are read:
///
/// - STIX 2.0/2.1 TLP 1.0: `definition_type: "tlp"` and `definition: {"tlp": "<level>"}`;
/// - TLP 2.0: the [`TLP_2_0_EXTENSION`] property extension's `tlp_2_0`;
/// - OpenCTI and others: `definition_type` "TLP" or "tlp" with a `name` like "TLP:AMBER+STRICT" or
///   "TLP:CLEAR".
///
/// Levels are read case-insensitively, with or without a `TLP:` prefix, and "white" is clear. A statement
/// marking, any other `definition_type` (PAP, …) and anything that is not a marking definition give `None`.
///
/// Fail closed: a definition that says it is TLP (the extension is present, or `definition_type` is "tlp")
/// but whose level cannot be read is red, and when the forms disagree the highest wins.
pub fn level_of_marking_definition(object: &Value) -> Option<Tlp> {
    if object.get("type").and_then(Value::as_str) != Some("marking-definition") {
        return None;
    }
    // Each level the object states; `None` where it says "TLP" but the level cannot be read.
    let mut stated: Vec<Option<Tlp>> = Vec::new();

    if let Some(extension) = object
        .get("extensions")
        .and_then(|extensions| extensions.get(TLP_2_0_EXTENSION))
    {
        stated.push(
            extension
                .get("tlp_2_0")
                .and_then(Value::as_str)
                .and_then(parse_level),
        );
    }

    let says_tlp = object
        .get("definition_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("tlp"));
    if says_tlp {
        // OpenCTI has written the key as "tlp" and as "TLP".
        let definition = object
            .get("definition")
            .and_then(Value::as_object)
            .and_then(|d| d.iter().find(|(key, _)| key.eq_ignore_ascii_case("tlp")))
            .map(|(_, level)| level.as_str().and_then(parse_level));
        // The name is free text in general; it states a level only when it reads as one.
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .and_then(parse_level);
        if definition.is_none() && name.is_none() {
            stated.push(None);
        }
        stated.extend(definition);
        stated.extend(name.map(Some));
    }

    stated
        .into_iter()
        .map(|level| level.unwrap_or(Tlp::Red))
        .max()
}

/// A whole level value ("amber", "TLP:AMBER", "white", …), never a part of a longer text.
fn parse_level(text: &str) -> Option<Tlp> {
    text.parse().ok()
}

/// What a marking reference means, according to a [`MarkingCatalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkingLevel {
    /// A TLP marking of this level.
    Tlp(Tlp),
    /// A known marking that is not TLP (a statement, PAP, …): it does not change the level.
    NotTlp,
    /// No marking definition with this id is known: the reference counts as red.
    Unknown,
}

/// The marking definitions known so far: the well-known ids plus those seen in feeds. The pipeline keeps one,
/// learns every marking-definition object it receives, and loads the stored ones at start.
#[derive(Debug, Clone, Default)]
pub struct MarkingCatalog {
    /// Learned definitions by id: the TLP level they define, or `None` for a known marking that is not TLP.
    /// Never holds a well-known id, whose level no feed can change.
    learned: HashMap<String, Option<Tlp>>,
}

impl MarkingCatalog {
    /// Learns one marking-definition object. A marking that is not TLP (a statement, …) is remembered as
    /// such, so references to it are known and not reported as unresolvable. Objects that are not marking
    /// definitions, or have no `id`, are ignored.
    pub fn learn(&mut self, marking_definition: &Value) {
        if marking_definition.get("type").and_then(Value::as_str) != Some("marking-definition") {
            return;
        }
        let Some(id) = marking_definition.get("id").and_then(Value::as_str) else {
            return;
        };
        self.learn_level(id, level_of_marking_definition(marking_definition));
    }

    /// Learns what a marking id means: `Some(level)` for a TLP marking, `None` for a known non-TLP marking
    /// (for loading from the store). Well-known ids keep their standard level. Learning an id again can only
    /// raise what it means (not TLP < clear < … < red), never lower it: a feed cannot downgrade a marking
    /// by sending a second definition with the same id.
    pub fn learn_level(&mut self, marking_id: &str, level: Option<Tlp>) {
        if well_known(marking_id).is_some() {
            return;
        }
        let known = self.learned.entry(marking_id.to_owned()).or_insert(level);
        // `Option` orders `None` below every `Some`, which is the order wanted here.
        *known = (*known).max(level);
    }

    /// What a marking reference means. The id is matched whole.
    pub fn resolve(&self, marking_id: &str) -> MarkingLevel {
        if let Some(level) = well_known(marking_id) {
            return MarkingLevel::Tlp(level);
        }
        match self.learned.get(marking_id) {
            Some(Some(level)) => MarkingLevel::Tlp(*level),
            Some(None) => MarkingLevel::NotTlp,
            None => MarkingLevel::Unknown,
        }
    }
}

/// An object's own level, before the levels of what it references are considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLevel {
    pub level: Tlp,
    /// The marking references that could not be resolved (each counted as red), each once, in the order
    /// found. A reference that is not a string is reported as its JSON text. The caller logs each id once.
    pub unresolved: Vec<String>,
}

/// An object's own level: the highest level among its `object_marking_refs` and its
/// `granular_markings[].marking_ref` (granular language markings, `lang`, are not TLP).
///
/// - An unknown marking reference, or anything other than an id where one should be, counts as red and is
///   reported in [`ObjectLevel::unresolved`].
/// - Known markings that are not TLP (statements) do not change the level.
/// - Unless `object_marking_refs` carries a TLP marking, the object as a whole is unmarked, so `default_tlp`
///   (else clear) applies too. This includes an object whose only TLP markings are granular: they cover
///   some of its properties and the rest are unmarked, so the level is the higher of the two.
/// - A marking-definition object is clear: it is not sensitive and goes wherever the objects using it go.
pub fn object_level(
    object: &Value,
    catalog: &MarkingCatalog,
    default_tlp: Option<Tlp>,
) -> ObjectLevel {
    let mut tally = Tally::default();
    if object.get("type").and_then(Value::as_str) == Some("marking-definition") {
        return tally.finish(Tlp::Clear);
    }

    match object.get("object_marking_refs") {
        None => {}
        Some(Value::Array(references)) => {
            for reference in references {
                tally.add(reference, catalog);
            }
        }
        Some(malformed) => tally.malformed(malformed),
    }
    let whole_object_marked = tally.highest.is_some();

    match object.get("granular_markings") {
        None => {}
        Some(Value::Array(markings)) => {
            for marking in markings {
                match marking.get("marking_ref") {
                    Some(reference) => tally.add(reference, catalog),
                    None if marking.get("lang").is_some() => {}
                    None => tally.malformed(marking),
                }
            }
        }
        Some(malformed) => tally.malformed(malformed),
    }

    let unmarked_level = if whole_object_marked {
        Tlp::Clear
    } else {
        default_tlp.unwrap_or(Tlp::Clear)
    };
    tally.finish(unmarked_level)
}

/// The markings of one object, counted as they are read.
#[derive(Default)]
struct Tally {
    /// The highest TLP level seen so far (unresolvable references count as red); `None` before the first
    /// TLP marking.
    highest: Option<Tlp>,
    unresolved: Vec<String>,
}

impl Tally {
    fn add(&mut self, reference: &Value, catalog: &MarkingCatalog) {
        let level = match reference.as_str() {
            Some(id) => match catalog.resolve(id) {
                MarkingLevel::Tlp(level) => level,
                MarkingLevel::NotTlp => return,
                MarkingLevel::Unknown => {
                    self.report(id.to_owned());
                    Tlp::Red
                }
            },
            None => return self.malformed(reference),
        };
        self.highest = self.highest.max(Some(level));
    }

    /// Something that is not a marking reference where one should be: red, reported as its JSON text.
    fn malformed(&mut self, value: &Value) {
        self.report(value.to_string());
        self.highest = Some(Tlp::Red);
    }

    fn report(&mut self, reference: String) {
        if !self.unresolved.contains(&reference) {
            self.unresolved.push(reference);
        }
    }

    /// The level: the highest marking, and at least `floor`.
    fn finish(self, floor: Tlp) -> ObjectLevel {
        ObjectLevel {
            level: self.highest.map_or(floor, |highest| highest.max(floor)),
            unresolved: self.unresolved,
        }
    }
}

/// The ids an object's level depends on beyond its own markings: a relationship's `source_ref` and
/// `target_ref`; a sighting's `sighting_of_ref`, `observed_data_refs` and `where_sighted_refs`. Read from any
/// object that has these properties. Containers' `object_refs` are not dependencies: a report does not take
/// the level of what it lists; the listed references are filtered per sink instead (see [`contained_refs`]).
pub fn level_dependencies(object: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = ["source_ref", "target_ref", "sighting_of_ref"]
        .into_iter()
        .filter_map(|property| object.get(property).and_then(Value::as_str))
        .collect();
    for property in ["observed_data_refs", "where_sighted_refs"] {
        ids.extend(ids_in(object.get(property)));
    }
    ids
}

/// The level a relationship or sighting is delivered at: the highest of its own level and the levels of
/// the objects it references ([`level_dependencies`]) that are known. `known_level(id)` gives the stored
/// level, or `None` when the id is not in the store; such references are ignored (DESIGN: "when those are
/// known to the store"). For an object without dependencies this is `own`.
pub fn effective_level(own: Tlp, object: &Value, known_level: impl Fn(&str) -> Option<Tlp>) -> Tlp {
    level_dependencies(object)
        .into_iter()
        .filter_map(known_level)
        .fold(own, Tlp::max)
}

/// The ids an object lists in `object_refs`: what a report, grouping, note or opinion is about, and the
/// observables of an observed-data. Read from any object that has the property. A sink below a listed
/// object's level must not receive that reference: see [`redact_container_refs`].
pub fn contained_refs(object: &Value) -> Vec<&str> {
    ids_in(object.get("object_refs")).collect()
}

/// For delivery to a sink with this `ceiling`: a copy of a container (report, grouping, note, opinion,
/// observed-data) without the `object_refs` entries the sink may not see, or `None` when nothing needs
/// removing (send the object as it is). Only `object_refs` changes.
///
/// An entry is kept when `known_level(id)` is at or below the ceiling. An id whose level is unknown (not in
/// the store yet, or never) is treated as red, like an unresolvable marking, so it is kept only for a red
/// sink. Why: the id itself is information. `malware--<uuid>` in an amber report, sent before the red
/// malware arrives, tells the sink that the object exists and what it is, and links the report to it, which
/// is what TLP:RED forbids. The cost is completeness: a reference to an object the store does not (yet)
/// know is missing from what sinks below red receive. Anything in `object_refs` that is not an id, or an
/// `object_refs` that is not an array, is likewise removed below red.
///
/// STIX requires `object_refs` to be non-empty; when every entry is removed the copy holds an empty array,
/// and the caller decides whether to withhold the object (`contained_refs(&copy).is_empty()`).
pub fn redact_container_refs(
    object: &Value,
    ceiling: Tlp,
    known_level: impl Fn(&str) -> Option<Tlp>,
) -> Option<Value> {
    let references = object.get("object_refs")?;
    let admitted = |reference: &Value| {
        let level = reference
            .as_str()
            .and_then(&known_level)
            .unwrap_or(Tlp::Red);
        admits(ceiling, level)
    };
    let kept: Vec<Value> = match references.as_array() {
        Some(entries) if entries.iter().all(admitted) => return None,
        Some(entries) => entries.iter().filter(|r| admitted(r)).cloned().collect(),
        None if ceiling == Tlp::Red => return None,
        None => Vec::new(),
    };
    let mut copy = object.clone();
    copy["object_refs"] = Value::Array(kept);
    Some(copy)
}

/// Routing: may a sink with this ceiling (`max_tlp`) receive an object at this level?
pub fn admits(ceiling: Tlp, level: Tlp) -> bool {
    level <= ceiling
}

/// The string entries of an array property (a missing property or a non-array has none).
fn ids_in(property: Option<&Value>) -> impl Iterator<Item = &str> {
    property
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    const LEVELS: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    const WHITE_1_0: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
    const GREEN_1_0: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
    const AMBER_1_0: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
    const RED_1_0: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";
    const CLEAR_2_0: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
    const AMBER_2_0: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    const AMBER_STRICT_2_0: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
    const OPENCTI_AMBER_STRICT: &str = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37";

    // Feed-defined markings under random UUIDs, one per form, and a statement.
    const FEED_TLP_1_0_AMBER: &str = "marking-definition--3b1f0c52-6a8e-4d3f-9f0e-2c7d1a9b4e61";
    const FEED_TLP_2_0_AMBER_STRICT: &str =
        "marking-definition--c4d2a9e7-1f3b-4c8a-b5d6-7e9f0a1b2c3d";
    const FEED_NAMED_GREEN: &str = "marking-definition--0f6e8d4c-2b1a-4e9d-8c7b-6a5f4e3d2c1b";
    const FEED_NAMED_RED: &str = "marking-definition--9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
    const STATEMENT: &str = "marking-definition--d1c2b3a4-9e8f-4d7c-a6b5-4f3e2d1c0b9a";
    const UNKNOWN: &str = "marking-definition--7f2e6b1a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

    /// The three forms of a TLP marking definition a feed may send: 0 TLP 1.0 `definition`,
    /// 1 the TLP 2.0 extension, 2 OpenCTI's `definition_type: "TLP"` with a `TLP:` name.
    fn feed_definition(form: u8, id: &str, level: Tlp) -> Value {
        let name = format!("TLP:{}", level.as_str().to_ascii_uppercase());
        match form {
            0 => {
                let tlp_1_0 = if level == Tlp::Clear {
                    "white"
                } else {
                    level.as_str()
                };
                json!({"type": "marking-definition", "spec_version": "2.1", "id": id,
                    "created": "2022-03-01T00:00:00.000Z", "definition_type": "tlp", "name": name,
                    "definition": {"tlp": tlp_1_0}})
            }
            1 => json!({"type": "marking-definition", "spec_version": "2.1", "id": id,
                "created": "2022-10-01T00:00:00.000Z", "name": name,
                "extensions": {TLP_2_0_EXTENSION: {"extension_type": "property-extension",
                    "tlp_2_0": level.as_str()}}}),
            _ => json!({"type": "marking-definition", "spec_version": "2.1", "id": id,
                "created": "2020-02-25T09:02:29.040Z", "definition_type": "TLP", "name": name}),
        }
    }

    fn statement(id: &str) -> Value {
        json!({"type": "marking-definition", "spec_version": "2.1", "id": id,
            "created": "2017-01-20T00:00:00.000Z", "definition_type": "statement",
            "definition": {"statement": "Copyright 2024, Example Corp"}})
    }

    fn feed_catalog() -> MarkingCatalog {
        let mut catalog = MarkingCatalog::default();
        catalog.learn(&feed_definition(0, FEED_TLP_1_0_AMBER, Tlp::Amber));
        catalog.learn(&feed_definition(
            1,
            FEED_TLP_2_0_AMBER_STRICT,
            Tlp::AmberStrict,
        ));
        catalog.learn(&feed_definition(2, FEED_NAMED_GREEN, Tlp::Green));
        catalog.learn(&feed_definition(2, FEED_NAMED_RED, Tlp::Red));
        catalog.learn(&statement(STATEMENT));
        catalog
    }

    fn indicator(markings: &[&str]) -> Value {
        let mut object = json!({"type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
            "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z"});
        if !markings.is_empty() {
            object["object_marking_refs"] = json!(markings);
        }
        object
    }

    fn with_granular(mut object: Value, markings: &[&str]) -> Value {
        let granular: Vec<Value> = markings
            .iter()
            .map(|id| json!({"marking_ref": id, "selectors": ["pattern"]}))
            .collect();
        object["granular_markings"] = Value::Array(granular);
        object
    }

    #[test]
    fn order_is_clear_to_red() {
        let mut levels = vec![
            Tlp::Red,
            Tlp::Clear,
            Tlp::AmberStrict,
            Tlp::Green,
            Tlp::Amber,
        ];
        levels.sort();
        assert_eq!(levels, LEVELS.to_vec());
    }

    #[test]
    fn parses_config_and_tag_spellings() {
        assert_eq!("white".parse::<Tlp>().unwrap(), Tlp::Clear);
        assert_eq!("TLP:AMBER+STRICT".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert!("tlp-red".parse::<Tlp>().is_err());
        for level in LEVELS {
            assert_eq!(level.as_str().parse::<Tlp>().unwrap(), level);
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
            assert_eq!(serde_json::from_str::<Tlp>(&json).unwrap(), level);
        }
        assert_eq!(
            serde_json::from_str::<Tlp>("\"white\"").unwrap(),
            Tlp::Clear
        );
    }

    #[test]
    fn well_known_ids_match_whole() {
        assert_eq!(well_known(WHITE_1_0), Some(Tlp::Clear));
        assert_eq!(well_known(AMBER_STRICT_2_0), Some(Tlp::AmberStrict));
        assert_eq!(well_known(OPENCTI_AMBER_STRICT), Some(Tlp::AmberStrict));
        assert_eq!(well_known(&format!("x-{WHITE_1_0}")), None);
        assert_eq!(well_known(&WHITE_1_0.to_uppercase()), None);
        assert_eq!(well_known("marking-definition--tlp-red"), None);
        assert_eq!(well_known(""), None);
    }

    #[test]
    fn reads_each_form_of_marking_definition() {
        for level in LEVELS {
            for form in 0..3 {
                let definition = feed_definition(form, UNKNOWN, level);
                assert_eq!(
                    level_of_marking_definition(&definition),
                    Some(level),
                    "form {form}: {definition}"
                );
            }
        }
        // STIX 2.0 TLP 1.0, as in the STIX 2.0 specification (no spec_version, no name).
        let stix_2_0 = json!({"type": "marking-definition", "id": RED_1_0,
            "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "definition": {"tlp": "red"}});
        assert_eq!(level_of_marking_definition(&stix_2_0), Some(Tlp::Red));
        // Older OpenCTI: lower-case type, upper-case level with the prefix stripped.
        let opencti_old = json!({"type": "marking-definition", "id": UNKNOWN, "definition_type": "tlp",
            "name": "TLP:AMBER+STRICT", "definition": {"tlp": "AMBER+STRICT"}});
        assert_eq!(
            level_of_marking_definition(&opencti_old),
            Some(Tlp::AmberStrict)
        );
    }

    #[test]
    fn markings_that_are_not_tlp_have_no_level() {
        assert_eq!(level_of_marking_definition(&statement(STATEMENT)), None);
        let pap = json!({"type": "marking-definition", "id": UNKNOWN, "definition_type": "PAP",
            "name": "PAP:RED", "definition": {"pap": "red"}});
        assert_eq!(level_of_marking_definition(&pap), None);
        // A `TLP:` name means nothing without a TLP definition type.
        let named_statement = json!({"type": "marking-definition", "id": UNKNOWN,
            "definition_type": "statement", "name": "TLP:CLEAR", "definition": {"statement": "x"}});
        assert_eq!(level_of_marking_definition(&named_statement), None);
        // Not a marking definition at all.
        let not_marking =
            json!({"type": "indicator", "definition_type": "tlp", "definition": {"tlp": "red"}});
        assert_eq!(level_of_marking_definition(&not_marking), None);
    }

    #[test]
    fn tlp_definitions_that_cannot_be_read_are_red() {
        let cases = [
            json!({"type": "marking-definition", "id": UNKNOWN, "definition_type": "tlp",
                "definition": {"tlp": "purple"}}),
            json!({"type": "marking-definition", "id": UNKNOWN, "definition_type": "tlp", "definition": {}}),
            json!({"type": "marking-definition", "id": UNKNOWN, "definition_type": "TLP",
                "name": "Company internal"}),
            json!({"type": "marking-definition", "id": UNKNOWN,
                "extensions": {TLP_2_0_EXTENSION: {"extension_type": "property-extension"}}}),
            json!({"type": "marking-definition", "id": UNKNOWN,
                "extensions": {TLP_2_0_EXTENSION: {"tlp_2_0": 3}}}),
        ];
        for definition in cases {
            assert_eq!(
                level_of_marking_definition(&definition),
                Some(Tlp::Red),
                "{definition}"
            );
        }
        // Forms that disagree: the highest wins.
        let conflicting = json!({"type": "marking-definition", "id": UNKNOWN, "definition_type": "tlp",
            "name": "TLP:GREEN", "definition": {"tlp": "white"},
            "extensions": {TLP_2_0_EXTENSION: {"tlp_2_0": "amber"}}});
        assert_eq!(level_of_marking_definition(&conflicting), Some(Tlp::Amber));
    }

    #[test]
    fn catalog_resolves_learns_and_never_lowers() {
        let mut catalog = feed_catalog();
        assert_eq!(catalog.resolve(RED_1_0), MarkingLevel::Tlp(Tlp::Red));
        assert_eq!(
            catalog.resolve(FEED_TLP_1_0_AMBER),
            MarkingLevel::Tlp(Tlp::Amber)
        );
        assert_eq!(catalog.resolve(STATEMENT), MarkingLevel::NotTlp);
        assert_eq!(catalog.resolve(UNKNOWN), MarkingLevel::Unknown);

        // A feed cannot redefine a well-known id.
        catalog.learn(&feed_definition(0, RED_1_0, Tlp::Clear));
        catalog.learn_level(RED_1_0, None);
        assert_eq!(catalog.resolve(RED_1_0), MarkingLevel::Tlp(Tlp::Red));
        // A second definition under a learned id can raise it, never lower it.
        catalog.learn(&feed_definition(1, FEED_TLP_1_0_AMBER, Tlp::Green));
        catalog.learn(&statement(FEED_TLP_1_0_AMBER));
        assert_eq!(
            catalog.resolve(FEED_TLP_1_0_AMBER),
            MarkingLevel::Tlp(Tlp::Amber)
        );
        catalog.learn_level(FEED_TLP_1_0_AMBER, Some(Tlp::Red));
        assert_eq!(
            catalog.resolve(FEED_TLP_1_0_AMBER),
            MarkingLevel::Tlp(Tlp::Red)
        );
        catalog.learn_level(STATEMENT, Some(Tlp::Green));
        assert_eq!(catalog.resolve(STATEMENT), MarkingLevel::Tlp(Tlp::Green));
        // Loading from the store.
        catalog.learn_level(UNKNOWN, None);
        assert_eq!(catalog.resolve(UNKNOWN), MarkingLevel::NotTlp);
        // Objects that are not marking definitions, or have no id, teach nothing.
        let before = catalog.learned.len();
        catalog.learn(
            &json!({"type": "indicator", "id": "indicator--1", "definition_type": "tlp",
            "definition": {"tlp": "red"}}),
        );
        catalog.learn(
            &json!({"type": "marking-definition", "definition_type": "tlp",
            "definition": {"tlp": "red"}}),
        );
        assert_eq!(catalog.learned.len(), before);
    }

    /// One row of the table: an object, the collection's default, and the level and unresolved ids expected.
    struct Case {
        name: String,
        object: Value,
        default_tlp: Option<Tlp>,
        level: Tlp,
        unresolved: Vec<String>,
    }

    fn case(name: &str, object: Value, default_tlp: Option<Tlp>, level: Tlp) -> Case {
        Case {
            name: name.to_owned(),
            object,
            default_tlp,
            level,
            unresolved: Vec::new(),
        }
    }

    fn unresolved(mut case: Case, ids: &[&str]) -> Case {
        case.unresolved = ids.iter().map(|id| id.to_string()).collect();
        case
    }

    #[test]
    fn object_levels_for_every_kind_of_marking() {
        let catalog = feed_catalog();
        let mut cases: Vec<Case> = WELL_KNOWN_MARKINGS
            .iter()
            .map(|&(id, level)| {
                case(
                    &format!("well-known {id}"),
                    indicator(&[id]),
                    Some(Tlp::Red),
                    level,
                )
            })
            .collect();
        let substring_of_white = format!("x-{WHITE_1_0}");
        let white_upper = WHITE_1_0.to_uppercase();
        let mut language_only = indicator(&[]);
        language_only["granular_markings"] = json!([{"lang": "en", "selectors": ["name"]}]);
        let mut empty_list = indicator(&[]);
        empty_list["object_marking_refs"] = json!([]);
        let mut not_a_list = indicator(&[]);
        not_a_list["object_marking_refs"] = json!(GREEN_1_0);
        let mut not_an_id = indicator(&[]);
        not_an_id["object_marking_refs"] = json!([GREEN_1_0, 7]);
        let mut marked_definition = statement(STATEMENT);
        marked_definition["object_marking_refs"] = json!([RED_1_0, UNKNOWN]);
        cases.extend([
            case(
                "OpenCTI amber+strict",
                indicator(&[OPENCTI_AMBER_STRICT]),
                None,
                Tlp::AmberStrict,
            ),
            case(
                "feed TLP 1.0 definition",
                indicator(&[FEED_TLP_1_0_AMBER]),
                None,
                Tlp::Amber,
            ),
            case(
                "feed TLP 2.0 extension",
                indicator(&[FEED_TLP_2_0_AMBER_STRICT]),
                None,
                Tlp::AmberStrict,
            ),
            case(
                "feed TLP: name",
                indicator(&[FEED_NAMED_GREEN]),
                None,
                Tlp::Green,
            ),
            case(
                "feed TLP: name, red",
                indicator(&[FEED_NAMED_RED]),
                None,
                Tlp::Red,
            ),
            case(
                "statement only, no default",
                indicator(&[STATEMENT]),
                None,
                Tlp::Clear,
            ),
            case(
                "statement only takes the default",
                indicator(&[STATEMENT]),
                Some(Tlp::Amber),
                Tlp::Amber,
            ),
            case(
                "statement beside TLP",
                indicator(&[STATEMENT, GREEN_1_0]),
                Some(Tlp::Amber),
                Tlp::Green,
            ),
            unresolved(
                case("unknown id", indicator(&[UNKNOWN]), None, Tlp::Red),
                &[UNKNOWN],
            ),
            unresolved(
                case(
                    "unknown beside clear",
                    indicator(&[CLEAR_2_0, UNKNOWN, STATEMENT]),
                    None,
                    Tlp::Red,
                ),
                &[UNKNOWN],
            ),
            unresolved(
                case(
                    "unknown reported once",
                    with_granular(indicator(&[UNKNOWN]), &[UNKNOWN]),
                    None,
                    Tlp::Red,
                ),
                &[UNKNOWN],
            ),
            case(
                "several: highest wins",
                indicator(&[WHITE_1_0, AMBER_2_0, GREEN_1_0]),
                None,
                Tlp::Amber,
            ),
            case(
                "several: 1.0 and 2.0 mixed",
                indicator(&[FEED_NAMED_GREEN, AMBER_STRICT_2_0, AMBER_1_0]),
                None,
                Tlp::AmberStrict,
            ),
            case(
                "granular above object marking",
                with_granular(indicator(&[GREEN_1_0]), &[RED_1_0]),
                None,
                Tlp::Red,
            ),
            case(
                "granular below object marking",
                with_granular(indicator(&[AMBER_1_0]), &[CLEAR_2_0]),
                Some(Tlp::Red),
                Tlp::Amber,
            ),
            case(
                "granular only",
                with_granular(indicator(&[]), &[FEED_TLP_1_0_AMBER]),
                None,
                Tlp::Amber,
            ),
            case(
                "granular only, default above it",
                with_granular(indicator(&[]), &[GREEN_1_0]),
                Some(Tlp::Amber),
                Tlp::Amber,
            ),
            case(
                "granular only, default below it",
                with_granular(indicator(&[]), &[AMBER_1_0]),
                Some(Tlp::Green),
                Tlp::Amber,
            ),
            case(
                "granular statement only",
                with_granular(indicator(&[]), &[STATEMENT]),
                Some(Tlp::Green),
                Tlp::Green,
            ),
            unresolved(
                case(
                    "granular unknown",
                    with_granular(indicator(&[GREEN_1_0]), &[UNKNOWN]),
                    None,
                    Tlp::Red,
                ),
                &[UNKNOWN],
            ),
            case(
                "granular language marking is not TLP",
                language_only,
                Some(Tlp::Green),
                Tlp::Green,
            ),
            case(
                "unmarked takes the default",
                indicator(&[]),
                Some(Tlp::AmberStrict),
                Tlp::AmberStrict,
            ),
            case(
                "unmarked without default is clear",
                indicator(&[]),
                None,
                Tlp::Clear,
            ),
            case(
                "empty marking list is unmarked",
                empty_list,
                Some(Tlp::Green),
                Tlp::Green,
            ),
            case(
                "marked object ignores the default",
                indicator(&[WHITE_1_0]),
                Some(Tlp::Red),
                Tlp::Clear,
            ),
            unresolved(
                case(
                    "'tlp-red' in an unknown id is not a level",
                    indicator(&["marking-definition--tlp-red"]),
                    None,
                    Tlp::Red,
                ),
                &["marking-definition--tlp-red"],
            ),
            unresolved(
                case(
                    "'tlp-white' in an unknown id is not a level",
                    indicator(&["marking-definition--tlp-white"]),
                    None,
                    Tlp::Red,
                ),
                &["marking-definition--tlp-white"],
            ),
            unresolved(
                case("'red' as an id", indicator(&["red"]), None, Tlp::Red),
                &["red"],
            ),
            unresolved(
                case(
                    "an id containing the TLP:WHITE id",
                    indicator(&[&substring_of_white]),
                    None,
                    Tlp::Red,
                ),
                &[&substring_of_white],
            ),
            unresolved(
                case(
                    "the TLP:WHITE id in upper case",
                    indicator(&[&white_upper]),
                    None,
                    Tlp::Red,
                ),
                &[&white_upper],
            ),
            unresolved(
                case("markings not a list", not_a_list, None, Tlp::Red),
                &[&format!("\"{GREEN_1_0}\"")],
            ),
            unresolved(
                case("a marking that is not an id", not_an_id, None, Tlp::Red),
                &["7"],
            ),
            case(
                "marking definition itself",
                feed_definition(1, FEED_NAMED_RED, Tlp::Red),
                Some(Tlp::Red),
                Tlp::Clear,
            ),
            case(
                "marking definition with its own markings",
                marked_definition,
                Some(Tlp::Amber),
                Tlp::Clear,
            ),
        ]);

        for case in cases {
            let got = object_level(&case.object, &catalog, case.default_tlp);
            assert_eq!(got.level, case.level, "{}", case.name);
            assert_eq!(got.unresolved, case.unresolved, "{}", case.name);
        }
    }

    #[test]
    fn dependencies_of_relationships_and_sightings() {
        let relationship = json!({"type": "relationship", "id": "relationship--1",
            "relationship_type": "indicates", "source_ref": "indicator--a", "target_ref": "malware--b"});
        assert_eq!(
            level_dependencies(&relationship),
            vec!["indicator--a", "malware--b"]
        );
        let sighting = json!({"type": "sighting", "id": "sighting--1", "sighting_of_ref": "indicator--a",
            "observed_data_refs": ["observed-data--c", "observed-data--d"],
            "where_sighted_refs": ["identity--e"]});
        assert_eq!(
            level_dependencies(&sighting),
            vec![
                "indicator--a",
                "observed-data--c",
                "observed-data--d",
                "identity--e"
            ]
        );
        let report = json!({"type": "report", "object_refs": ["indicator--a"]});
        assert!(level_dependencies(&report).is_empty());
        assert_eq!(contained_refs(&report), vec!["indicator--a"]);
        assert!(contained_refs(&relationship).is_empty());
    }

    #[test]
    fn relationships_and_sightings_take_known_levels_only() {
        let known: HashMap<&str, Tlp> = HashMap::from([
            ("indicator--green", Tlp::Green),
            ("malware--red", Tlp::Red),
            ("identity--clear", Tlp::Clear),
            ("observed-data--amber", Tlp::Amber),
        ]);
        let lookup = |id: &str| known.get(id).copied();
        let relationship = |source: &str, target: &str| {
            json!({"type": "relationship", "id": "relationship--1", "relationship_type": "indicates",
                "source_ref": source, "target_ref": target})
        };

        let to_red = relationship("indicator--green", "malware--red");
        assert_eq!(effective_level(Tlp::Clear, &to_red, lookup), Tlp::Red);
        let to_green = relationship("indicator--green", "identity--clear");
        assert_eq!(effective_level(Tlp::Clear, &to_green, lookup), Tlp::Green);
        // The relationship's own level stays when it is higher.
        assert_eq!(
            effective_level(Tlp::AmberStrict, &to_green, lookup),
            Tlp::AmberStrict
        );
        // Unknown endpoints are ignored (they are not in the store).
        let to_unknown = relationship("indicator--unknown", "malware--unknown");
        assert_eq!(effective_level(Tlp::Green, &to_unknown, lookup), Tlp::Green);
        let half_known = relationship("indicator--green", "malware--unknown");
        assert_eq!(effective_level(Tlp::Clear, &half_known, lookup), Tlp::Green);

        let sighting = json!({"type": "sighting", "id": "sighting--1", "sighting_of_ref": "indicator--green",
            "observed_data_refs": ["observed-data--amber"], "where_sighted_refs": ["identity--clear"]});
        assert_eq!(effective_level(Tlp::Clear, &sighting, lookup), Tlp::Amber);
        let sighted_by_red = json!({"type": "sighting", "sighting_of_ref": "indicator--unknown",
            "where_sighted_refs": ["identity--clear", "malware--red"]});
        assert_eq!(
            effective_level(Tlp::Green, &sighted_by_red, lookup),
            Tlp::Red
        );

        // Objects without dependencies keep their own level.
        let indicator = indicator(&[GREEN_1_0]);
        assert_eq!(effective_level(Tlp::Green, &indicator, lookup), Tlp::Green);
    }

    #[test]
    fn container_redaction() {
        let known: HashMap<&str, Tlp> = HashMap::from([
            ("indicator--clear", Tlp::Clear),
            ("indicator--amber", Tlp::Amber),
            ("malware--red", Tlp::Red),
            ("relationship--strict", Tlp::AmberStrict),
        ]);
        let lookup = |id: &str| known.get(id).copied();
        let report = json!({"type": "report", "id": "report--1", "name": "Campaign X",
            "object_marking_refs": [GREEN_1_0], "published": "2024-01-01T00:00:00Z",
            "object_refs": ["indicator--clear", "malware--red", "indicator--amber",
                "relationship--strict", "malware--unknown"]});

        let redacted = |ceiling: Tlp| {
            redact_container_refs(&report, ceiling, lookup).map(|copy| {
                contained_refs(&copy)
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            redacted(Tlp::Clear),
            Some(vec!["indicator--clear".to_owned()])
        );
        assert_eq!(
            redacted(Tlp::Amber),
            Some(vec![
                "indicator--clear".to_owned(),
                "indicator--amber".to_owned()
            ])
        );
        assert_eq!(
            redacted(Tlp::AmberStrict),
            Some(vec![
                "indicator--clear".to_owned(),
                "indicator--amber".to_owned(),
                "relationship--strict".to_owned()
            ])
        );
        // A red sink may see everything, including ids whose level is unknown.
        assert_eq!(redacted(Tlp::Red), None);

        // Only object_refs changes.
        let mut copy = redact_container_refs(&report, Tlp::Green, lookup).unwrap();
        let mut original = report.clone();
        copy.as_object_mut().unwrap().remove("object_refs");
        original.as_object_mut().unwrap().remove("object_refs");
        assert_eq!(copy, original);

        // Nothing to remove: None.
        let all_clear =
            json!({"type": "grouping", "context": "x", "object_refs": ["indicator--clear"]});
        assert_eq!(redact_container_refs(&all_clear, Tlp::Clear, lookup), None);
        // Everything removed: an empty list, for the caller to withhold.
        let all_red = json!({"type": "note", "content": "x",
            "object_refs": ["malware--red", "malware--unknown"]});
        let copy = redact_container_refs(&all_red, Tlp::AmberStrict, lookup).unwrap();
        assert!(contained_refs(&copy).is_empty());
        assert_eq!(copy["object_refs"], json!([]));
        // Malformed entries are removed below red.
        let malformed =
            json!({"type": "opinion", "opinion": "agree", "object_refs": ["indicator--clear", 5]});
        assert_eq!(
            redact_container_refs(&malformed, Tlp::Amber, lookup).unwrap()["object_refs"],
            json!(["indicator--clear"])
        );
        let not_a_list = json!({"type": "opinion", "object_refs": "malware--red"});
        assert_eq!(
            redact_container_refs(&not_a_list, Tlp::Amber, lookup).unwrap()["object_refs"],
            json!([])
        );
        assert_eq!(redact_container_refs(&not_a_list, Tlp::Red, lookup), None);
        // Objects that list nothing: None.
        assert_eq!(
            redact_container_refs(&indicator(&[]), Tlp::Clear, lookup),
            None
        );
    }

    #[test]
    fn admits_up_to_the_ceiling() {
        for ceiling in LEVELS {
            for level in LEVELS {
                assert_eq!(admits(ceiling, level), level <= ceiling);
            }
        }
        assert!(admits(Tlp::Amber, Tlp::Green));
        assert!(admits(Tlp::Amber, Tlp::Amber));
        assert!(!admits(Tlp::Amber, Tlp::AmberStrict));
        assert!(!admits(Tlp::AmberStrict, Tlp::Red));
    }

    /// Property tests: random feeds resolved as the pipeline does, checked against what the generator knows.
    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::Index;

        /// What the generator knows about a marking reference, independently of the code under test.
        #[derive(Debug, Clone, Copy)]
        enum Truth {
            Level(Tlp),
            NotTlp,
            Unresolvable,
        }

        impl Truth {
            /// The level the reference imposes: red when it cannot be resolved, none when it is not TLP.
            fn level(self) -> Option<Tlp> {
                match self {
                    Truth::Level(level) => Some(level),
                    Truth::NotTlp => None,
                    Truth::Unresolvable => Some(Tlp::Red),
                }
            }
        }

        /// Markings drawn from the pool for one object.
        #[derive(Debug, Clone)]
        struct Markings {
            object: Vec<Index>,
            granular: Vec<Index>,
        }

        #[derive(Debug, Clone)]
        struct Link {
            sighting: bool,
            source: Index,
            target: Index,
            markings: Markings,
        }

        #[derive(Debug, Clone)]
        struct Container {
            refs: Vec<Index>,
            dangling_ref: bool,
            markings: Markings,
        }

        #[derive(Debug, Clone)]
        struct Scenario {
            /// Feed-defined TLP markings: form, level, random part of the id.
            feed: Vec<(u8, Tlp, u64)>,
            statements: Vec<u64>,
            unknown: Vec<u64>,
            /// Objects and whether each is in the store (known) by the time later objects are resolved.
            objects: Vec<(Markings, bool)>,
            links: Vec<Link>,
            containers: Vec<Container>,
            default_tlp: Option<Tlp>,
        }

        fn level() -> impl Strategy<Value = Tlp> {
            prop::sample::select(LEVELS.to_vec())
        }

        fn markings() -> impl Strategy<Value = Markings> {
            (vec(any::<Index>(), 0..4), vec(any::<Index>(), 0..3))
                .prop_map(|(object, granular)| Markings { object, granular })
        }

        fn scenario() -> impl Strategy<Value = Scenario> {
            let link = (any::<bool>(), any::<Index>(), any::<Index>(), markings()).prop_map(
                |(sighting, source, target, markings)| Link {
                    sighting,
                    source,
                    target,
                    markings,
                },
            );
            let container = (vec(any::<Index>(), 1..6), any::<bool>(), markings()).prop_map(
                |(refs, dangling_ref, markings)| Container {
                    refs,
                    dangling_ref,
                    markings,
                },
            );
            (
                vec((0u8..3, level(), any::<u64>()), 0..5),
                vec(any::<u64>(), 0..3),
                vec(any::<u64>(), 0..3),
                vec((markings(), any::<bool>()), 1..8),
                vec(link, 0..6),
                vec(container, 0..4),
                proptest::option::of(level()),
            )
                .prop_map(
                    |(feed, statements, unknown, objects, links, containers, default_tlp)| {
                        Scenario {
                            feed,
                            statements,
                            unknown,
                            objects,
                            links,
                            containers,
                            default_tlp,
                        }
                    },
                )
        }

        /// A UUID distinct for every (kind, serial), whatever `random` is (shrinking drives it to 0).
        /// Kinds use variant nibbles 8..=b with serials below 0x100, which no well-known id has.
        fn uuid(kind: u8, serial: usize, random: u64) -> String {
            format!(
                "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
                random >> 32,
                (random >> 16) & 0xffff,
                random & 0xfff,
                8 + kind,
                serial,
                random & 0xffff_ffff_ffff
            )
        }

        /// Every marking id the scenario can use, what each truly is, and the definitions a feed sent.
        struct Pool {
            markings: Vec<(String, Truth)>,
            definitions: Vec<Value>,
        }

        fn pool(scenario: &Scenario) -> Pool {
            let mut markings: Vec<(String, Truth)> = WELL_KNOWN_MARKINGS
                .iter()
                .map(|&(id, level)| (id.to_owned(), Truth::Level(level)))
                .collect();
            let mut definitions = Vec::new();
            for (serial, &(form, level, random)) in scenario.feed.iter().enumerate() {
                let id = format!("marking-definition--{}", uuid(0, serial, random));
                definitions.push(feed_definition(form, &id, level));
                markings.push((id, Truth::Level(level)));
            }
            for (serial, &random) in scenario.statements.iter().enumerate() {
                let id = format!("marking-definition--{}", uuid(1, serial, random));
                definitions.push(statement(&id));
                markings.push((id, Truth::NotTlp));
            }
            for (serial, &random) in scenario.unknown.iter().enumerate() {
                let id = format!("marking-definition--{}", uuid(2, serial, random));
                markings.push((id, Truth::Unresolvable));
            }
            // Ids that a substring match would mistake for a level.
            for id in [
                "marking-definition--tlp-red".to_owned(),
                "marking-definition--tlp-clear".to_owned(),
                format!("x-{WHITE_1_0}"),
            ] {
                markings.push((id, Truth::Unresolvable));
            }
            Pool {
                markings,
                definitions,
            }
        }

        impl Pool {
            fn pick(&self, index: &Index) -> &(String, Truth) {
                index.get(&self.markings)
            }

            /// Puts the markings on an object.
            fn mark(&self, mut object: Value, markings: &Markings) -> Value {
                if !markings.object.is_empty() {
                    let ids: Vec<&str> = markings
                        .object
                        .iter()
                        .map(|i| self.pick(i).0.as_str())
                        .collect();
                    object["object_marking_refs"] = json!(ids);
                }
                if !markings.granular.is_empty() {
                    let granular: Vec<Value> = markings
                        .granular
                        .iter()
                        .map(|i| json!({"marking_ref": self.pick(i).0, "selectors": ["name"]}))
                        .collect();
                    object["granular_markings"] = Value::Array(granular);
                }
                object
            }

            /// The highest level among the markings themselves (unresolvable = red), without any default.
            fn highest_marking(&self, markings: &[Index]) -> Option<Tlp> {
                markings.iter().filter_map(|i| self.pick(i).1.level()).max()
            }

            /// The level the rules give, computed from the generator's own knowledge.
            fn expected_level(&self, markings: &Markings, default_tlp: Option<Tlp>) -> Tlp {
                let object = self.highest_marking(&markings.object);
                let granular = self.highest_marking(&markings.granular);
                let unmarked = match object {
                    Some(_) => Tlp::Clear,
                    None => default_tlp.unwrap_or(Tlp::Clear),
                };
                [object, granular, Some(unmarked)]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(Tlp::Clear)
            }

            /// The unresolvable ids among the markings, each once.
            fn expected_unresolved(&self, markings: &Markings) -> Vec<String> {
                let mut ids: Vec<String> = Vec::new();
                for index in markings.object.iter().chain(&markings.granular) {
                    let (id, truth) = self.pick(index);
                    if matches!(truth, Truth::Unresolvable) && !ids.contains(id) {
                        ids.push(id.clone());
                    }
                }
                ids
            }

            /// Resolves an object's own level and checks it against the generator's knowledge: exactly
            /// the expected level, every unresolvable id reported, and no sink below the highest marking
            /// (or below the default, for an unmarked object) admits it.
            fn check_own_level(
                &self,
                object: &Value,
                markings: &Markings,
                catalog: &MarkingCatalog,
                default_tlp: Option<Tlp>,
            ) -> Result<Tlp, TestCaseError> {
                let own = object_level(object, catalog, default_tlp);
                prop_assert_eq!(own.level, self.expected_level(markings, default_tlp));
                prop_assert_eq!(&own.unresolved, &self.expected_unresolved(markings));
                let all: Vec<Index> = markings
                    .object
                    .iter()
                    .chain(&markings.granular)
                    .cloned()
                    .collect();
                let floor = self
                    .highest_marking(&all)
                    .unwrap_or(default_tlp.unwrap_or(Tlp::Clear));
                for ceiling in LEVELS {
                    if admits(ceiling, own.level) {
                        prop_assert!(floor <= ceiling, "{} admitted to {}", object, ceiling);
                    }
                }
                Ok(own.level)
            }
        }

        /// Runs a scenario through resolution as the pipeline would, checking every object on the way.
        fn check(scenario: &Scenario) -> Result<(), TestCaseError> {
            let pool = pool(scenario);
            let mut catalog = MarkingCatalog::default();
            for definition in &pool.definitions {
                catalog.learn(definition);
            }
            // What the store knows: id → delivered (effective) level.
            let mut known: HashMap<String, Tlp> = HashMap::new();
            let mut ids: Vec<String> = Vec::new();
            let default_tlp = scenario.default_tlp;

            for (serial, (markings, stored)) in scenario.objects.iter().enumerate() {
                let id = format!("indicator--{}", uuid(0, serial, 0));
                let object = pool.mark(
                    json!({"type": "indicator", "id": id, "name": "x", "pattern_type": "stix",
                        "pattern": "[ipv4-addr:value = '203.0.113.7']"}),
                    markings,
                );
                let own = pool.check_own_level(&object, markings, &catalog, default_tlp)?;
                let effective = effective_level(own, &object, |id| known.get(id).copied());
                prop_assert_eq!(effective, own);
                if *stored {
                    known.insert(id.clone(), effective);
                }
                ids.push(id);
            }

            for (serial, link) in scenario.links.iter().enumerate() {
                let source = link.source.get(&ids).clone();
                let target = link.target.get(&ids).clone();
                let object = if link.sighting {
                    json!({"type": "sighting", "id": format!("sighting--{}", uuid(1, serial, 0)),
                        "sighting_of_ref": source, "where_sighted_refs": [target]})
                } else {
                    json!({"type": "relationship", "id": format!("relationship--{}", uuid(1, serial, 0)),
                        "relationship_type": "indicates", "source_ref": source, "target_ref": target})
                };
                let object = pool.mark(object, &link.markings);
                let own = pool.check_own_level(&object, &link.markings, &catalog, default_tlp)?;
                let effective = effective_level(own, &object, |id| known.get(id).copied());
                let endpoints: Vec<Tlp> = [&source, &target]
                    .into_iter()
                    .filter_map(|id| known.get(id).copied())
                    .collect();
                prop_assert_eq!(
                    effective,
                    endpoints.iter().copied().fold(own, Tlp::max),
                    "{}",
                    object
                );
                for ceiling in LEVELS {
                    if admits(ceiling, effective) {
                        prop_assert!(admits(ceiling, own));
                        for endpoint in &endpoints {
                            prop_assert!(
                                admits(ceiling, *endpoint),
                                "{} reaches a {} sink above a known endpoint",
                                object,
                                ceiling
                            );
                        }
                    }
                }
                let id = object["id"].as_str().unwrap().to_owned();
                known.insert(id.clone(), effective);
                ids.push(id);
            }

            for (serial, container) in scenario.containers.iter().enumerate() {
                let mut refs: Vec<String> =
                    container.refs.iter().map(|i| i.get(&ids).clone()).collect();
                if container.dangling_ref {
                    refs.push(format!("malware--{}", uuid(2, serial, 0)));
                }
                let report = pool.mark(
                    json!({"type": "report", "id": format!("report--{}", uuid(2, serial, 0)),
                        "name": "x", "published": "2024-01-01T00:00:00Z", "object_refs": refs}),
                    &container.markings,
                );
                let own =
                    pool.check_own_level(&report, &container.markings, &catalog, default_tlp)?;
                for ceiling in LEVELS {
                    if !admits(ceiling, own) {
                        continue;
                    }
                    let redacted =
                        redact_container_refs(&report, ceiling, |id| known.get(id).copied());
                    let delivered = redacted.as_ref().unwrap_or(&report);
                    let delivered_refs = contained_refs(delivered);
                    for id in &delivered_refs {
                        match known.get(*id) {
                            Some(level) => prop_assert!(
                                admits(ceiling, *level),
                                "{} at {} reaches a {} sink",
                                id,
                                level,
                                ceiling
                            ),
                            None => prop_assert_eq!(ceiling, Tlp::Red, "unknown {} kept", id),
                        }
                    }
                    // Nothing the sink may see is removed, and the order is kept.
                    let expected: Vec<&str> = refs
                        .iter()
                        .map(String::as_str)
                        .filter(|id| {
                            known.get(*id).is_some_and(|l| admits(ceiling, *l))
                                || ceiling == Tlp::Red
                        })
                        .collect();
                    prop_assert_eq!(&delivered_refs, &expected);
                    prop_assert_eq!(redacted.is_none(), expected.len() == refs.len());
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]
            #[test]
            fn no_object_reaches_a_sink_below_its_level(scenario in scenario()) {
                check(&scenario)?;
            }
        }
    }
}
