//! TLP levels and their order. Resolution of markings on objects builds on this type.
//!
//! Owns: the five TLP 2.0 levels (TLP 1.0 WHITE is CLEAR), their total order and their spelling in config.
//! Must never: guess a level from a substring of an id.

use serde::{Deserialize, Serialize};
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            levels,
            vec![
                Tlp::Clear,
                Tlp::Green,
                Tlp::Amber,
                Tlp::AmberStrict,
                Tlp::Red
            ]
        );
    }

    #[test]
    fn parses_config_and_tag_spellings() {
        assert_eq!("white".parse::<Tlp>().unwrap(), Tlp::Clear);
        assert_eq!("TLP:AMBER+STRICT".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert!("tlp-red".parse::<Tlp>().is_err());
    }
}
