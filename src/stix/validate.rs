//! STIX 2.1 object validation: the specification's MUSTs become errors, its SHOULDs warnings.
//!
//! Owns: every check that can be decided from one object's JSON alone — common properties, the
//! per-type required properties, value types, ranges, closed enumerations and co-constraints, custom
//! content naming, open vocabularies, relationship types and identifier versions. The rules follow the
//! STIX 2.1 specification, cross-read with the OASIS reference validator (`cti-stix-validator`,
//! `v21/musts.py` and `v21/shoulds.py`) and the OASIS JSON schemas; the code is our own.
//!
//! Must never: do I/O, know HTTP or SQL, look at other objects (references are checked for their form
//! and target type only, never resolved), or change the object. It runs on every object at ingest, so
//! the happy path allocates nothing beyond the [`Verdict`]: no regexes, per-type rules found with a
//! `match` on the type string, property paths rendered only when a reason is recorded.
//!
//! Knowingly not checked (each needs other objects, external registries, or would refuse real feeds):
//! reference resolution, duplicate ids and versioning rules; URL syntax; IANA media types, character
//! sets, protocols and IPFIX names; CPE/SWID; custom property values (types,
//! empty lists, `_hex`/`_bin` suffixes) and property names inside extensions (OpenCTI's own extension
//! carries `id` and `type`); the content of the deprecated `observed-data.objects`; extension contents
//! against their definition; language-content keys against the referenced object; that a TLP marking
//! definition is one of the four standard ones (STIX 2.1 section 7.2.1.4: feeds define their own, whose
//! levels the relay resolves, see `tlp.rs`). `created`/`modified` "precise to the nearest millisecond" is
//! a warning: ATT&CK for ICS 10.0 ships whole seconds.

use std::fmt;

use serde_json::{Map, Value};

use super::pattern;
use super::Reason;

/// Property names STIX 2.1 reserves for future use (section 3.8): no object may use them.
const RESERVED_PROPERTY_NAMES: [&str; 4] = ["severity", "username", "phone_numbers", "action"];

/// What [`validate`] found: errors (MUST violations: the object is refused) and warnings (SHOULDs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    pub errors: Vec<Reason>,
    pub warnings: Vec<Reason>,
}

impl Verdict {
    /// No MUST was broken.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks one STIX 2.1 object against the specification's MUSTs (errors) and SHOULDs (warnings).
pub fn validate(object: &Value) -> Verdict {
    let Some(obj) = object.as_object() else {
        return Verdict {
            errors: vec![Reason::new(
                "not_an_object",
                "",
                "a STIX object must be a JSON object",
            )],
            warnings: Vec::new(),
        };
    };
    let mut checker = Checker {
        obj,
        ty: "",
        spec: None,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    checker.run();
    Verdict {
        errors: checker.errors,
        warnings: checker.warnings,
    }
}

// ---------------------------------------------------------------------------------------------------
// Property paths
// ---------------------------------------------------------------------------------------------------

/// Where a value sits in the object, as a chain on the stack; rendered (`kill_chain_phases[0].phase_name`)
/// only when a reason is recorded.
#[derive(Clone, Copy)]
enum At<'p> {
    /// The object itself.
    Top,
    /// A property of the parent object.
    Field(&'p At<'p>, &'p str),
    /// An item of the parent list.
    Item(&'p At<'p>, usize),
}

const TOP: At<'static> = At::Top;

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Top => Ok(()),
            At::Field(At::Top, name) => f.write_str(name),
            At::Field(parent, name) => write!(f, "{parent}.{name}"),
            At::Item(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Rules: what a property's value must be
// ---------------------------------------------------------------------------------------------------

/// The value rule of one property defined by the specification.
#[derive(Clone, Copy)]
enum Rule {
    /// Checked elsewhere (or not at all).
    Any,
    Str,
    Bool,
    Timestamp,
    /// An integer within the inclusive bounds.
    Int {
        min: i64,
        max: i64,
    },
    /// A number within the inclusive bounds.
    Num {
        min: f64,
        max: f64,
    },
    /// A non-empty list of strings.
    StrList,
    /// An identifier of an object of the given kind.
    Ref(Target),
    /// A non-empty list of identifiers of objects of the given kind.
    Refs(Target),
    /// A string that SHOULD come from the open vocabulary.
    Vocab(&'static [&'static str]),
    /// A non-empty list of strings that SHOULD come from the open vocabulary.
    VocabList(&'static [&'static str]),
    /// A string that MUST come from the enumeration.
    Enum(&'static [&'static str]),
    /// A non-empty list of strings that MUST come from the enumeration.
    EnumList(&'static [&'static str]),
    KillChainPhases,
    ExternalReferences,
    GranularMarkings,
    Extensions,
    Hashes,
    /// A non-empty dictionary (JSON object) whose keys follow the dictionary key rules.
    Dict,
    /// A [`Rule::Dict`] whose values each follow the rule.
    DictOf(&'static Rule),
    /// Any JSON object.
    Object,
    /// A JSON object checked against its own property table and required properties.
    ObjectOf(&'static [Prop], &'static [&'static str]),
    /// A non-empty list of JSON objects, each checked like [`Rule::ObjectOf`].
    ObjectsOf(&'static [Prop], &'static [&'static str]),
    /// A JSON object checked against its own property table, at least one of which MUST be present
    /// (the specification's "MUST contain at least one property from this type").
    ObjectOfAtLeastOne(&'static [Prop]),
    /// A non-empty list of JSON objects, each checked like [`Rule::ObjectOfAtLeastOne`].
    ObjectsOfAtLeastOne(&'static [Prop]),
    /// An RFC 5646 language tag.
    Lang,
    /// Base64 (RFC 4648 section 4).
    Binary,
    /// An even number of hexadecimal digits.
    Hex,
    /// The literal `2.1`.
    SpecVersion,
}

/// Which objects an identifier property may point at.
#[derive(Clone, Copy)]
enum Target {
    Any,
    /// Exactly these types.
    Types(&'static [&'static str]),
    /// An SDO (or a custom type, which could be one).
    Sdo,
    /// An SCO (or a custom type).
    Sco,
    /// An SCO or an SRO (or a custom type).
    ScoOrSro,
    /// An SDO or an SCO (or a custom type): the ends of a relationship.
    SdoOrSco,
}

impl Target {
    fn allows(self, ty: &str) -> bool {
        let category = type_spec(ty).map(|spec| spec.category);
        match self {
            Target::Any => true,
            Target::Types(types) => types.contains(&ty),
            Target::Sdo => matches!(category, None | Some(Category::Sdo)),
            Target::Sco => matches!(category, None | Some(Category::Sco)),
            Target::ScoOrSro => matches!(category, None | Some(Category::Sco | Category::Sro)),
            Target::SdoOrSco => matches!(category, None | Some(Category::Sdo | Category::Sco)),
        }
    }

    fn describe(self) -> String {
        match self {
            Target::Any => "any object".to_owned(),
            Target::Types(types) => format!("an object of type {}", types.join(" or ")),
            Target::Sdo => "an SDO".to_owned(),
            Target::Sco => "an SCO".to_owned(),
            Target::ScoOrSro => "an SCO or an SRO".to_owned(),
            Target::SdoOrSco => "an SDO or an SCO".to_owned(),
        }
    }
}

/// One property the specification defines, with its value rule.
struct Prop {
    name: &'static str,
    rule: Rule,
}

const fn p(name: &'static str, rule: Rule) -> Prop {
    Prop { name, rule }
}

fn find_rule(props: &[Prop], name: &str) -> Option<Rule> {
    props
        .iter()
        .find(|prop| prop.name == name)
        .map(|prop| prop.rule)
}

const ANY_INT: Rule = Rule::Int {
    min: i64::MIN,
    max: i64::MAX,
};
const NON_NEGATIVE: Rule = Rule::Int {
    min: 0,
    max: i64::MAX,
};
const ANY_NUMBER: Rule = Rule::Num {
    min: f64::MIN,
    max: f64::MAX,
};
const TO_IDENTITY: Target = Target::Types(&["identity"]);
const TO_MARKING: Target = Target::Types(&["marking-definition"]);
const TO_SOFTWARE: Target = Target::Types(&["software"]);
const TO_ARTIFACT: Target = Target::Types(&["artifact"]);
const TO_FILE: Target = Target::Types(&["file"]);
const TO_EMAIL_ADDR: Target = Target::Types(&["email-addr"]);
const TO_USER_ACCOUNT: Target = Target::Types(&["user-account"]);
const TO_NETWORK_TRAFFIC: Target = Target::Types(&["network-traffic"]);

// ---------------------------------------------------------------------------------------------------
// Vocabularies (open: warnings) and enumerations (closed: errors), STIX 2.1 section 10
// ---------------------------------------------------------------------------------------------------

const ACCOUNT_TYPE: &[&str] = &[
    "facebook",
    "ldap",
    "nis",
    "openid",
    "radius",
    "skype",
    "tacacs",
    "twitter",
    "unix",
    "windows-local",
    "windows-domain",
];
const ATTACK_MOTIVATION: &[&str] = &[
    "accidental",
    "coercion",
    "dominance",
    "ideology",
    "notoriety",
    "organizational-gain",
    "personal-gain",
    "personal-satisfaction",
    "revenge",
    "unpredictable",
];
const ATTACK_RESOURCE_LEVEL: &[&str] = &[
    "individual",
    "club",
    "contest",
    "team",
    "organization",
    "government",
];
const GROUPING_CONTEXT: &[&str] = &["suspicious-activity", "malware-analysis", "unspecified"];
const HASH_ALGORITHM: &[&str] = &[
    "MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH",
];
const IDENTITY_CLASS: &[&str] = &[
    "individual",
    "group",
    "system",
    "organization",
    "class",
    "unknown",
];
const IMPLEMENTATION_LANGUAGE: &[&str] = &[
    "applescript",
    "bash",
    "c",
    "c++",
    "c#",
    "go",
    "java",
    "javascript",
    "lua",
    "objective-c",
    "perl",
    "php",
    "powershell",
    "python",
    "ruby",
    "scala",
    "swift",
    "typescript",
    "visual-basic",
    "x86-32",
    "x86-64",
];
const INDICATOR_TYPE: &[&str] = &[
    "anomalous-activity",
    "anonymization",
    "benign",
    "compromised",
    "malicious-activity",
    "attribution",
    "unknown",
];
const INDUSTRY_SECTOR: &[&str] = &[
    "agriculture",
    "aerospace",
    "automotive",
    "chemical",
    "commercial",
    "communications",
    "construction",
    "defense",
    "education",
    "energy",
    "entertainment",
    "financial-services",
    "government",
    "emergency-services",
    "government-local",
    "government-national",
    "government-public-services",
    "government-regional",
    "healthcare",
    "hospitality-leisure",
    "infrastructure",
    "dams",
    "nuclear",
    "water",
    "insurance",
    "manufacturing",
    "mining",
    "non-profit",
    "pharmaceuticals",
    "retail",
    "technology",
    "telecommunications",
    "transportation",
    "utilities",
];
const INFRASTRUCTURE_TYPE: &[&str] = &[
    "amplification",
    "anonymization",
    "botnet",
    "command-and-control",
    "control-system",
    "exfiltration",
    "firewall",
    "hosting-malware",
    "hosting-target-lists",
    "phishing",
    "reconnaissance",
    "routers-switches",
    "staging",
    "workstation",
    "unknown",
];
const MALWARE_CAPABILITIES: &[&str] = &[
    "accesses-remote-machines",
    "anti-debugging",
    "anti-disassembly",
    "anti-emulation",
    "anti-memory-forensics",
    "anti-sandbox",
    "anti-vm",
    "captures-input-peripherals",
    "captures-output-peripherals",
    "captures-system-state-data",
    "cleans-traces-of-infection",
    "commits-fraud",
    "communicates-with-c2",
    "compromises-data-availability",
    "compromises-data-integrity",
    "compromises-system-availability",
    "controls-local-machine",
    "degrades-security-software",
    "degrades-system-updates",
    "determines-c2-server",
    "emails-spam",
    "escalates-privileges",
    "evades-av",
    "exfiltrates-data",
    "fingerprints-host",
    "hides-artifacts",
    "hides-executing-code",
    "infects-files",
    "infects-remote-machines",
    "installs-other-components",
    "persists-after-system-reboot",
    "prevents-artifact-access",
    "prevents-artifact-deletion",
    "probes-network-environment",
    "self-modifies",
    "steals-authentication-credentials",
    "violates-system-operational-integrity",
];
const MALWARE_RESULT: &[&str] = &["malicious", "suspicious", "benign", "unknown"];
const MALWARE_TYPE: &[&str] = &[
    "adware",
    "backdoor",
    "bot",
    "bootkit",
    "ddos",
    "downloader",
    "dropper",
    "exploit-kit",
    "keylogger",
    "ransomware",
    "remote-access-trojan",
    "resource-exploitation",
    "rogue-security-software",
    "rootkit",
    "screen-capture",
    "spyware",
    "trojan",
    "unknown",
    "virus",
    "webshell",
    "wiper",
    "worm",
];
const MARKING_DEFINITION_TYPE: &[&str] = &["statement", "tlp"];
const PATTERN_TYPE: &[&str] = &["stix", "pcre", "sigma", "snort", "suricata", "yara"];
const PROCESSOR_ARCHITECTURE: &[&str] = &[
    "alpha", "arm", "ia-64", "mips", "powerpc", "sparc", "x86", "x86-64",
];
const REGION: &[&str] = &[
    "africa",
    "eastern-africa",
    "middle-africa",
    "northern-africa",
    "southern-africa",
    "western-africa",
    "americas",
    "latin-america-caribbean",
    "south-america",
    "caribbean",
    "central-america",
    "northern-america",
    "asia",
    "central-asia",
    "eastern-asia",
    "southern-asia",
    "south-eastern-asia",
    "western-asia",
    "europe",
    "eastern-europe",
    "northern-europe",
    "southern-europe",
    "western-europe",
    "oceania",
    "australia-new-zealand",
    "melanesia",
    "micronesia",
    "polynesia",
    "antarctica",
];
const REPORT_TYPE: &[&str] = &[
    "attack-pattern",
    "campaign",
    "identity",
    "indicator",
    "intrusion-set",
    "malware",
    "observed-data",
    "threat-actor",
    "threat-report",
    "tool",
    "vulnerability",
];
const THREAT_ACTOR_ROLE: &[&str] = &[
    "agent",
    "director",
    "independent",
    "infrastructure-architect",
    "infrastructure-operator",
    "malware-author",
    "sponsor",
];
const THREAT_ACTOR_SOPHISTICATION: &[&str] = &[
    "none",
    "minimal",
    "intermediate",
    "advanced",
    "expert",
    "innovator",
    "strategic",
];
const THREAT_ACTOR_TYPE: &[&str] = &[
    "activist",
    "competitor",
    "crime-syndicate",
    "criminal",
    "hacker",
    "insider-accidental",
    "insider-disgruntled",
    "nation-state",
    "sensationalist",
    "spy",
    "terrorist",
    "unknown",
];
const TOOL_TYPE: &[&str] = &[
    "denial-of-service",
    "exploitation",
    "information-gathering",
    "network-capture",
    "credential-exploitation",
    "remote-access",
    "vulnerability-scanning",
    "unknown",
];
const WINDOWS_PEBINARY_TYPE: &[&str] = &["dll", "exe", "sys"];

const ENCRYPTION_ALGORITHM: &[&str] = &["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"];
const EXTENSION_TYPE: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];
const OPINION: &[&str] = &[
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];
const TLP_LEVEL: &[&str] = &["white", "green", "amber", "red"];
const NETWORK_SOCKET_ADDRESS_FAMILY: &[&str] = &[
    "AF_UNSPEC",
    "AF_INET",
    "AF_IPX",
    "AF_APPLETALK",
    "AF_NETBIOS",
    "AF_INET6",
    "AF_IRDA",
    "AF_BTH",
];
const NETWORK_SOCKET_TYPE: &[&str] = &[
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_RDM",
    "SOCK_SEQPACKET",
];
const WINDOWS_INTEGRITY_LEVEL: &[&str] = &["low", "medium", "high", "system"];
const WINDOWS_REGISTRY_DATATYPE: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];
const WINDOWS_SERVICE_START_TYPE: &[&str] = &[
    "SERVICE_AUTO_START",
    "SERVICE_BOOT_START",
    "SERVICE_DEMAND_START",
    "SERVICE_DISABLED",
    "SERVICE_SYSTEM_ALERT",
];
const WINDOWS_SERVICE_TYPE: &[&str] = &[
    "SERVICE_KERNEL_DRIVER",
    "SERVICE_FILE_SYSTEM_DRIVER",
    "SERVICE_WIN32_OWN_PROCESS",
    "SERVICE_WIN32_SHARE_PROCESS",
];
const WINDOWS_SERVICE_STATUS: &[&str] = &[
    "SERVICE_CONTINUE_PENDING",
    "SERVICE_PAUSE_PENDING",
    "SERVICE_PAUSED",
    "SERVICE_RUNNING",
    "SERVICE_START_PENDING",
    "SERVICE_STOP_PENDING",
    "SERVICE_STOPPED",
];

// ---------------------------------------------------------------------------------------------------
// Object types
// ---------------------------------------------------------------------------------------------------

/// The kind of object a type is, which decides its common properties and identifier version.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Category {
    Sdo,
    Sro,
    Sco,
    /// Language content, marking definition, extension definition: their whole property table is
    /// their own.
    Meta,
    /// A type the specification does not define.
    Custom,
}

/// A predefined SCO extension (`archive-ext`, `tcp-ext`, …): its properties and required ones.
struct ExtensionSpec {
    name: &'static str,
    props: &'static [Prop],
    required: &'static [&'static str],
}

/// Everything the specification defines for one object type.
struct TypeSpec {
    category: Category,
    /// Type-specific properties (meta objects: all their properties).
    props: &'static [Prop],
    /// Type-specific required properties (beyond those of the category).
    required: &'static [&'static str],
    /// SCOs: the ID Contributing Properties (STIX 2.1 section 2.9), from which a UUIDv5 is derived;
    /// empty for `process`, which has none.
    id_contributing: &'static [&'static str],
    /// Predefined extensions (SCOs).
    extensions: &'static [ExtensionSpec],
    /// Co-constraints and orders the tables cannot express.
    rules: fn(&mut Checker<'_>),
}

const fn spec(
    category: Category,
    props: &'static [Prop],
    required: &'static [&'static str],
    rules: fn(&mut Checker<'_>),
) -> TypeSpec {
    TypeSpec {
        category,
        props,
        required,
        id_contributing: &[],
        extensions: &[],
        rules,
    }
}

const fn sco(
    props: &'static [Prop],
    required: &'static [&'static str],
    id_contributing: &'static [&'static str],
    extensions: &'static [ExtensionSpec],
    rules: fn(&mut Checker<'_>),
) -> TypeSpec {
    TypeSpec {
        category: Category::Sco,
        props,
        required,
        id_contributing,
        extensions,
        rules,
    }
}

/// The specification's definition of a type; `None` for custom types.
fn type_spec(ty: &str) -> Option<&'static TypeSpec> {
    Some(match ty {
        "attack-pattern" => &ATTACK_PATTERN,
        "campaign" => &CAMPAIGN,
        "course-of-action" => &COURSE_OF_ACTION,
        "grouping" => &GROUPING,
        "identity" => &IDENTITY,
        "incident" => &INCIDENT,
        "indicator" => &INDICATOR,
        "infrastructure" => &INFRASTRUCTURE,
        "intrusion-set" => &INTRUSION_SET,
        "location" => &LOCATION,
        "malware" => &MALWARE,
        "malware-analysis" => &MALWARE_ANALYSIS,
        "note" => &NOTE,
        "observed-data" => &OBSERVED_DATA,
        "opinion" => &OPINION_SDO,
        "report" => &REPORT,
        "threat-actor" => &THREAT_ACTOR,
        "tool" => &TOOL,
        "vulnerability" => &VULNERABILITY,
        "relationship" => &RELATIONSHIP,
        "sighting" => &SIGHTING,
        "artifact" => &ARTIFACT,
        "autonomous-system" => &AUTONOMOUS_SYSTEM,
        "directory" => &DIRECTORY,
        "domain-name" => &DOMAIN_NAME,
        "email-addr" => &EMAIL_ADDR,
        "email-message" => &EMAIL_MESSAGE,
        "file" => &FILE,
        "ipv4-addr" => &IPV4_ADDR,
        "ipv6-addr" => &IPV6_ADDR,
        "mac-addr" => &MAC_ADDR,
        "mutex" => &MUTEX,
        "network-traffic" => &NETWORK_TRAFFIC,
        "process" => &PROCESS,
        "software" => &SOFTWARE,
        "url" => &URL,
        "user-account" => &USER_ACCOUNT,
        "windows-registry-key" => &WINDOWS_REGISTRY_KEY,
        "x509-certificate" => &X509_CERTIFICATE,
        "language-content" => &LANGUAGE_CONTENT,
        "marking-definition" => &MARKING_DEFINITION,
        "extension-definition" => &EXTENSION_DEFINITION,
        _ => return None,
    })
}

/// Common properties of SDOs and SROs (STIX 2.1 section 3.2).
const SDO_COMMON: &[Prop] = &[
    p("spec_version", Rule::SpecVersion),
    p("created_by_ref", Rule::Ref(TO_IDENTITY)),
    p("created", Rule::Timestamp),
    p("modified", Rule::Timestamp),
    p("revoked", Rule::Bool),
    p("labels", Rule::StrList),
    p("confidence", Rule::Int { min: 0, max: 100 }),
    p("lang", Rule::Lang),
    p("external_references", Rule::ExternalReferences),
    p("object_marking_refs", Rule::Refs(TO_MARKING)),
    p("granular_markings", Rule::GranularMarkings),
    p("extensions", Rule::Extensions),
];

/// Common properties of SCOs (STIX 2.1 section 3.2).
const SCO_COMMON: &[Prop] = &[
    p("spec_version", Rule::SpecVersion),
    p("object_marking_refs", Rule::Refs(TO_MARKING)),
    p("granular_markings", Rule::GranularMarkings),
    p("defanged", Rule::Bool),
    p("extensions", Rule::Extensions),
];

/// Custom objects may be SDO-like or SCO-like: every common property is checked when present.
const CUSTOM_COMMON: &[Prop] = &[
    p("spec_version", Rule::SpecVersion),
    p("created_by_ref", Rule::Ref(TO_IDENTITY)),
    p("created", Rule::Timestamp),
    p("modified", Rule::Timestamp),
    p("revoked", Rule::Bool),
    p("labels", Rule::StrList),
    p("confidence", Rule::Int { min: 0, max: 100 }),
    p("lang", Rule::Lang),
    p("external_references", Rule::ExternalReferences),
    p("object_marking_refs", Rule::Refs(TO_MARKING)),
    p("granular_markings", Rule::GranularMarkings),
    p("defanged", Rule::Bool),
    p("extensions", Rule::Extensions),
];

fn common_props(category: Category) -> &'static [Prop] {
    match category {
        Category::Sdo | Category::Sro => SDO_COMMON,
        Category::Sco => SCO_COMMON,
        Category::Meta => &[],
        Category::Custom => CUSTOM_COMMON,
    }
}

fn category_required(category: Category) -> &'static [&'static str] {
    match category {
        Category::Sdo | Category::Sro => &["type", "spec_version", "id", "created", "modified"],
        Category::Meta => &["type", "spec_version", "id"],
        Category::Sco | Category::Custom => &["type", "id"],
    }
}

fn no_rules(_: &mut Checker<'_>) {}

// SDOs (STIX 2.1 section 4).

static ATTACK_PATTERN: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("aliases", Rule::StrList),
        p("kill_chain_phases", Rule::KillChainPhases),
    ],
    &["name"],
    no_rules,
);

static CAMPAIGN: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("aliases", Rule::StrList),
        p("first_seen", Rule::Timestamp),
        p("last_seen", Rule::Timestamp),
        p("objective", Rule::Str),
    ],
    &["name"],
    seen_rules,
);

static COURSE_OF_ACTION: TypeSpec = spec(
    Category::Sdo,
    &[p("name", Rule::Str), p("description", Rule::Str)],
    &["name"],
    no_rules,
);

static GROUPING: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("context", Rule::Vocab(GROUPING_CONTEXT)),
        p("object_refs", Rule::Refs(Target::Any)),
    ],
    &["context", "object_refs"],
    no_rules,
);

static IDENTITY: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("roles", Rule::StrList),
        p("identity_class", Rule::Vocab(IDENTITY_CLASS)),
        p("sectors", Rule::VocabList(INDUSTRY_SECTOR)),
        p("contact_information", Rule::Str),
    ],
    &["name"],
    no_rules,
);

static INCIDENT: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("kill_chain_phases", Rule::KillChainPhases),
    ],
    &["name"],
    no_rules,
);

static INDICATOR: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("indicator_types", Rule::VocabList(INDICATOR_TYPE)),
        p("pattern", Rule::Str),
        p("pattern_type", Rule::Vocab(PATTERN_TYPE)),
        p("pattern_version", Rule::Str),
        p("valid_from", Rule::Timestamp),
        p("valid_until", Rule::Timestamp),
        p("kill_chain_phases", Rule::KillChainPhases),
    ],
    &["pattern", "pattern_type", "valid_from"],
    indicator_rules,
);

static INFRASTRUCTURE: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("infrastructure_types", Rule::VocabList(INFRASTRUCTURE_TYPE)),
        p("aliases", Rule::StrList),
        p("kill_chain_phases", Rule::KillChainPhases),
        p("first_seen", Rule::Timestamp),
        p("last_seen", Rule::Timestamp),
    ],
    &["name"],
    seen_rules,
);

static INTRUSION_SET: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("aliases", Rule::StrList),
        p("first_seen", Rule::Timestamp),
        p("last_seen", Rule::Timestamp),
        p("goals", Rule::StrList),
        p("resource_level", Rule::Vocab(ATTACK_RESOURCE_LEVEL)),
        p("primary_motivation", Rule::Vocab(ATTACK_MOTIVATION)),
        p("secondary_motivations", Rule::VocabList(ATTACK_MOTIVATION)),
    ],
    &["name"],
    seen_rules,
);

static LOCATION: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p(
            "latitude",
            Rule::Num {
                min: -90.0,
                max: 90.0,
            },
        ),
        p(
            "longitude",
            Rule::Num {
                min: -180.0,
                max: 180.0,
            },
        ),
        p("precision", ANY_NUMBER),
        p("region", Rule::Vocab(REGION)),
        p("country", Rule::Str),
        p("administrative_area", Rule::Str),
        p("city", Rule::Str),
        p("street_address", Rule::Str),
        p("postal_code", Rule::Str),
    ],
    &[],
    location_rules,
);

static MALWARE: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("malware_types", Rule::VocabList(MALWARE_TYPE)),
        p("is_family", Rule::Bool),
        p("aliases", Rule::StrList),
        p("kill_chain_phases", Rule::KillChainPhases),
        p("first_seen", Rule::Timestamp),
        p("last_seen", Rule::Timestamp),
        p("operating_system_refs", Rule::Refs(TO_SOFTWARE)),
        p(
            "architecture_execution_envs",
            Rule::VocabList(PROCESSOR_ARCHITECTURE),
        ),
        p(
            "implementation_languages",
            Rule::VocabList(IMPLEMENTATION_LANGUAGE),
        ),
        p("capabilities", Rule::VocabList(MALWARE_CAPABILITIES)),
        p(
            "sample_refs",
            Rule::Refs(Target::Types(&["file", "artifact"])),
        ),
    ],
    &["is_family"],
    malware_rules,
);

static MALWARE_ANALYSIS: TypeSpec = spec(
    Category::Sdo,
    &[
        p("product", Rule::Str),
        p("version", Rule::Str),
        p("host_vm_ref", Rule::Ref(TO_SOFTWARE)),
        p("operating_system_ref", Rule::Ref(TO_SOFTWARE)),
        p("installed_software_refs", Rule::Refs(TO_SOFTWARE)),
        p("configuration_version", Rule::Str),
        p("modules", Rule::StrList),
        p("analysis_engine_version", Rule::Str),
        p("analysis_definition_version", Rule::Str),
        p("submitted", Rule::Timestamp),
        p("analysis_started", Rule::Timestamp),
        p("analysis_ended", Rule::Timestamp),
        p("result_name", Rule::Str),
        p("result", Rule::Vocab(MALWARE_RESULT)),
        p("analysis_sco_refs", Rule::Refs(Target::Sco)),
        p(
            "sample_ref",
            Rule::Ref(Target::Types(&["file", "artifact", "network-traffic"])),
        ),
    ],
    &["product"],
    malware_analysis_rules,
);

static NOTE: TypeSpec = spec(
    Category::Sdo,
    &[
        p("abstract", Rule::Str),
        p("content", Rule::Str),
        p("authors", Rule::StrList),
        p("object_refs", Rule::Refs(Target::Any)),
    ],
    &["content", "object_refs"],
    no_rules,
);

static OBSERVED_DATA: TypeSpec = spec(
    Category::Sdo,
    &[
        p("first_observed", Rule::Timestamp),
        p("last_observed", Rule::Timestamp),
        p(
            "number_observed",
            Rule::Int {
                min: 1,
                max: 999_999_999,
            },
        ),
        p("objects", Rule::Object),
        p("object_refs", Rule::Refs(Target::ScoOrSro)),
    ],
    &["first_observed", "last_observed", "number_observed"],
    observed_data_rules,
);

static OPINION_SDO: TypeSpec = spec(
    Category::Sdo,
    &[
        p("explanation", Rule::Str),
        p("authors", Rule::StrList),
        p("opinion", Rule::Enum(OPINION)),
        p("object_refs", Rule::Refs(Target::Any)),
    ],
    &["opinion", "object_refs"],
    no_rules,
);

static REPORT: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("report_types", Rule::VocabList(REPORT_TYPE)),
        p("published", Rule::Timestamp),
        p("object_refs", Rule::Refs(Target::Any)),
    ],
    &["name", "published", "object_refs"],
    no_rules,
);

static THREAT_ACTOR: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("threat_actor_types", Rule::VocabList(THREAT_ACTOR_TYPE)),
        p("aliases", Rule::StrList),
        p("first_seen", Rule::Timestamp),
        p("last_seen", Rule::Timestamp),
        p("roles", Rule::VocabList(THREAT_ACTOR_ROLE)),
        p("goals", Rule::StrList),
        p("sophistication", Rule::Vocab(THREAT_ACTOR_SOPHISTICATION)),
        p("resource_level", Rule::Vocab(ATTACK_RESOURCE_LEVEL)),
        p("primary_motivation", Rule::Vocab(ATTACK_MOTIVATION)),
        p("secondary_motivations", Rule::VocabList(ATTACK_MOTIVATION)),
        p("personal_motivations", Rule::VocabList(ATTACK_MOTIVATION)),
    ],
    &["name"],
    seen_rules,
);

static TOOL: TypeSpec = spec(
    Category::Sdo,
    &[
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("tool_types", Rule::VocabList(TOOL_TYPE)),
        p("aliases", Rule::StrList),
        p("kill_chain_phases", Rule::KillChainPhases),
        p("tool_version", Rule::Str),
    ],
    &["name"],
    no_rules,
);

static VULNERABILITY: TypeSpec = spec(
    Category::Sdo,
    &[p("name", Rule::Str), p("description", Rule::Str)],
    &["name"],
    no_rules,
);

// SROs (STIX 2.1 section 5).

static RELATIONSHIP: TypeSpec = spec(
    Category::Sro,
    &[
        p("relationship_type", Rule::Str),
        p("description", Rule::Str),
        p("source_ref", Rule::Ref(Target::SdoOrSco)),
        p("target_ref", Rule::Ref(Target::SdoOrSco)),
        p("start_time", Rule::Timestamp),
        p("stop_time", Rule::Timestamp),
    ],
    &["relationship_type", "source_ref", "target_ref"],
    relationship_rules,
);

static SIGHTING: TypeSpec = spec(
    Category::Sro,
    &[
        p("description", Rule::Str),
        p("first_seen", Rule::Timestamp),
        p("last_seen", Rule::Timestamp),
        p(
            "count",
            Rule::Int {
                min: 0,
                max: 999_999_999,
            },
        ),
        p("sighting_of_ref", Rule::Ref(Target::Sdo)),
        p(
            "observed_data_refs",
            Rule::Refs(Target::Types(&["observed-data"])),
        ),
        p(
            "where_sighted_refs",
            Rule::Refs(Target::Types(&["identity", "location"])),
        ),
        p("summary", Rule::Bool),
    ],
    &["sighting_of_ref"],
    seen_rules,
);

// Meta objects (STIX 2.1 section 7).

static LANGUAGE_CONTENT: TypeSpec = spec(
    Category::Meta,
    &[
        p("spec_version", Rule::SpecVersion),
        p("created_by_ref", Rule::Ref(TO_IDENTITY)),
        p("created", Rule::Timestamp),
        p("modified", Rule::Timestamp),
        p("revoked", Rule::Bool),
        p("labels", Rule::StrList),
        p("confidence", Rule::Int { min: 0, max: 100 }),
        p("external_references", Rule::ExternalReferences),
        p("object_marking_refs", Rule::Refs(TO_MARKING)),
        p("granular_markings", Rule::GranularMarkings),
        p("extensions", Rule::Extensions),
        p("object_ref", Rule::Ref(Target::Any)),
        p("object_modified", Rule::Timestamp),
        p("contents", Rule::Any),
    ],
    &["created", "modified", "object_ref", "contents"],
    language_content_rules,
);

static MARKING_DEFINITION: TypeSpec = spec(
    Category::Meta,
    &[
        p("spec_version", Rule::SpecVersion),
        p("created_by_ref", Rule::Ref(TO_IDENTITY)),
        p("created", Rule::Timestamp),
        p("external_references", Rule::ExternalReferences),
        p("object_marking_refs", Rule::Refs(TO_MARKING)),
        p("granular_markings", Rule::GranularMarkings),
        p("extensions", Rule::Extensions),
        p("name", Rule::Str),
        p("definition_type", Rule::Vocab(MARKING_DEFINITION_TYPE)),
        p("definition", Rule::Object),
    ],
    &["created"],
    marking_definition_rules,
);

static EXTENSION_DEFINITION: TypeSpec = spec(
    Category::Meta,
    &[
        p("spec_version", Rule::SpecVersion),
        p("created_by_ref", Rule::Ref(TO_IDENTITY)),
        p("created", Rule::Timestamp),
        p("modified", Rule::Timestamp),
        p("revoked", Rule::Bool),
        p("labels", Rule::StrList),
        p("external_references", Rule::ExternalReferences),
        p("object_marking_refs", Rule::Refs(TO_MARKING)),
        p("granular_markings", Rule::GranularMarkings),
        p("name", Rule::Str),
        p("description", Rule::Str),
        p("schema", Rule::Str),
        p("version", Rule::Str),
        p("extension_types", Rule::EnumList(EXTENSION_TYPE)),
        p("extension_properties", Rule::StrList),
    ],
    &[
        "created",
        "modified",
        "created_by_ref",
        "name",
        "schema",
        "version",
        "extension_types",
    ],
    extension_definition_rules,
);

// SCOs (STIX 2.1 section 6).

static ARTIFACT: TypeSpec = sco(
    &[
        p("mime_type", Rule::Str),
        p("payload_bin", Rule::Binary),
        p("url", Rule::Str),
        p("hashes", Rule::Hashes),
        p("encryption_algorithm", Rule::Enum(ENCRYPTION_ALGORITHM)),
        p("decryption_key", Rule::Str),
    ],
    &[],
    &["hashes", "payload_bin"],
    &[],
    artifact_rules,
);

static AUTONOMOUS_SYSTEM: TypeSpec = sco(
    &[
        p("number", ANY_INT),
        p("name", Rule::Str),
        p("rir", Rule::Str),
    ],
    &["number"],
    &["number"],
    &[],
    no_rules,
);

static DIRECTORY: TypeSpec = sco(
    &[
        p("path", Rule::Str),
        p("path_enc", Rule::Str),
        p("ctime", Rule::Timestamp),
        p("mtime", Rule::Timestamp),
        p("atime", Rule::Timestamp),
        p(
            "contains_refs",
            Rule::Refs(Target::Types(&["file", "directory"])),
        ),
    ],
    &["path"],
    &["path"],
    &[],
    no_rules,
);

static DOMAIN_NAME: TypeSpec = sco(
    &[
        p("value", Rule::Str),
        p(
            "resolves_to_refs",
            Rule::Refs(Target::Types(&["ipv4-addr", "ipv6-addr", "domain-name"])),
        ),
    ],
    &["value"],
    &["value"],
    &[],
    no_rules,
);

static EMAIL_ADDR: TypeSpec = sco(
    &[
        p("value", Rule::Str),
        p("display_name", Rule::Str),
        p("belongs_to_ref", Rule::Ref(TO_USER_ACCOUNT)),
    ],
    &["value"],
    &["value"],
    &[],
    no_rules,
);

const MIME_PART: &[Prop] = &[
    p("body", Rule::Str),
    p(
        "body_raw_ref",
        Rule::Ref(Target::Types(&["artifact", "file"])),
    ),
    p("content_type", Rule::Str),
    p("content_disposition", Rule::Str),
];

static EMAIL_MESSAGE: TypeSpec = sco(
    &[
        p("is_multipart", Rule::Bool),
        p("date", Rule::Timestamp),
        p("content_type", Rule::Str),
        p("from_ref", Rule::Ref(TO_EMAIL_ADDR)),
        p("sender_ref", Rule::Ref(TO_EMAIL_ADDR)),
        p("to_refs", Rule::Refs(TO_EMAIL_ADDR)),
        p("cc_refs", Rule::Refs(TO_EMAIL_ADDR)),
        p("bcc_refs", Rule::Refs(TO_EMAIL_ADDR)),
        p("message_id", Rule::Str),
        p("subject", Rule::Str),
        p("received_lines", Rule::StrList),
        p("additional_header_fields", Rule::Dict),
        p("body", Rule::Str),
        p("body_multipart", Rule::ObjectsOf(MIME_PART, &[])),
        p("raw_email_ref", Rule::Ref(TO_ARTIFACT)),
    ],
    &["is_multipart"],
    &["from_ref", "subject", "body"],
    &[],
    email_message_rules,
);

const ALTERNATE_DATA_STREAM: &[Prop] = &[
    p("name", Rule::Str),
    p("hashes", Rule::Hashes),
    p("size", NON_NEGATIVE),
];

const WINDOWS_PE_SECTION: &[Prop] = &[
    p("name", Rule::Str),
    p("size", NON_NEGATIVE),
    p("entropy", ANY_NUMBER),
    p("hashes", Rule::Hashes),
];

const WINDOWS_PE_OPTIONAL_HEADER: &[Prop] = &[
    p("magic_hex", Rule::Hex),
    p("major_linker_version", ANY_INT),
    p("minor_linker_version", ANY_INT),
    p("size_of_code", NON_NEGATIVE),
    p("size_of_initialized_data", NON_NEGATIVE),
    p("size_of_uninitialized_data", NON_NEGATIVE),
    p("address_of_entry_point", ANY_INT),
    p("base_of_code", ANY_INT),
    p("base_of_data", ANY_INT),
    p("image_base", ANY_INT),
    p("section_alignment", ANY_INT),
    p("file_alignment", ANY_INT),
    p("major_os_version", ANY_INT),
    p("minor_os_version", ANY_INT),
    p("major_image_version", ANY_INT),
    p("minor_image_version", ANY_INT),
    p("major_subsystem_version", ANY_INT),
    p("minor_subsystem_version", ANY_INT),
    p("win32_version_value_hex", Rule::Hex),
    p("size_of_image", NON_NEGATIVE),
    p("size_of_headers", NON_NEGATIVE),
    p("checksum_hex", Rule::Hex),
    p("subsystem_hex", Rule::Hex),
    p("dll_characteristics_hex", Rule::Hex),
    p("size_of_stack_reserve", NON_NEGATIVE),
    p("size_of_stack_commit", NON_NEGATIVE),
    p("size_of_heap_reserve", ANY_INT),
    p("size_of_heap_commit", ANY_INT),
    p("loader_flags_hex", Rule::Hex),
    p("number_of_rva_and_sizes", ANY_INT),
    p("hashes", Rule::Hashes),
];

const FILE_EXTENSIONS: &[ExtensionSpec] = &[
    ExtensionSpec {
        name: "archive-ext",
        props: &[
            p("contains_refs", Rule::Refs(Target::Sco)),
            p("comment", Rule::Str),
        ],
        required: &["contains_refs"],
    },
    ExtensionSpec {
        name: "ntfs-ext",
        props: &[
            p("sid", Rule::Str),
            p(
                "alternate_data_streams",
                Rule::ObjectsOf(ALTERNATE_DATA_STREAM, &["name"]),
            ),
        ],
        required: &[],
    },
    ExtensionSpec {
        name: "pdf-ext",
        props: &[
            p("version", Rule::Str),
            p("is_optimized", Rule::Bool),
            p("document_info_dict", Rule::Dict),
            p("pdfid0", Rule::Str),
            p("pdfid1", Rule::Str),
        ],
        required: &[],
    },
    ExtensionSpec {
        name: "raster-image-ext",
        props: &[
            p("image_height", NON_NEGATIVE),
            p("image_width", NON_NEGATIVE),
            p("bits_per_pixel", NON_NEGATIVE),
            p("exif_tags", Rule::Dict),
        ],
        required: &[],
    },
    ExtensionSpec {
        name: "windows-pebinary-ext",
        props: &[
            p("pe_type", Rule::Vocab(WINDOWS_PEBINARY_TYPE)),
            p("imphash", Rule::Str),
            p("machine_hex", Rule::Hex),
            p("number_of_sections", NON_NEGATIVE),
            p("time_date_stamp", Rule::Timestamp),
            p("pointer_to_symbol_table_hex", Rule::Hex),
            p("number_of_symbols", NON_NEGATIVE),
            p("size_of_optional_header", NON_NEGATIVE),
            p("characteristics_hex", Rule::Hex),
            p("file_header_hashes", Rule::Hashes),
            p(
                "optional_header",
                Rule::ObjectOf(WINDOWS_PE_OPTIONAL_HEADER, &[]),
            ),
            p("sections", Rule::ObjectsOf(WINDOWS_PE_SECTION, &["name"])),
        ],
        required: &["pe_type"],
    },
];

static FILE: TypeSpec = sco(
    &[
        p("hashes", Rule::Hashes),
        p("size", NON_NEGATIVE),
        p("name", Rule::Str),
        p("name_enc", Rule::Str),
        p("magic_number_hex", Rule::Hex),
        p("mime_type", Rule::Str),
        p("ctime", Rule::Timestamp),
        p("mtime", Rule::Timestamp),
        p("atime", Rule::Timestamp),
        p(
            "parent_directory_ref",
            Rule::Ref(Target::Types(&["directory"])),
        ),
        p("contains_refs", Rule::Refs(Target::Sco)),
        p("content_ref", Rule::Ref(TO_ARTIFACT)),
    ],
    &[],
    &["hashes", "name", "extensions", "parent_directory_ref"],
    FILE_EXTENSIONS,
    file_rules,
);

static IPV4_ADDR: TypeSpec = sco(
    &[
        p("value", Rule::Str),
        p("resolves_to_refs", Rule::Refs(Target::Types(&["mac-addr"]))),
        p(
            "belongs_to_refs",
            Rule::Refs(Target::Types(&["autonomous-system"])),
        ),
    ],
    &["value"],
    &["value"],
    &[],
    ipv4_rules,
);

static IPV6_ADDR: TypeSpec = sco(
    &[
        p("value", Rule::Str),
        p("resolves_to_refs", Rule::Refs(Target::Types(&["mac-addr"]))),
        p(
            "belongs_to_refs",
            Rule::Refs(Target::Types(&["autonomous-system"])),
        ),
    ],
    &["value"],
    &["value"],
    &[],
    ipv6_rules,
);

static MAC_ADDR: TypeSpec = sco(
    &[p("value", Rule::Str)],
    &["value"],
    &["value"],
    &[],
    mac_rules,
);

static MUTEX: TypeSpec = sco(&[p("name", Rule::Str)], &["name"], &["name"], &[], no_rules);

const NETWORK_TRAFFIC_EXTENSIONS: &[ExtensionSpec] = &[
    ExtensionSpec {
        name: "http-request-ext",
        props: &[
            p("request_method", Rule::Str),
            p("request_value", Rule::Str),
            p("request_version", Rule::Str),
            p("request_header", Rule::DictOf(&Rule::StrList)),
            p("message_body_length", NON_NEGATIVE),
            p("message_body_data_ref", Rule::Ref(TO_ARTIFACT)),
        ],
        required: &["request_method", "request_value"],
    },
    ExtensionSpec {
        name: "icmp-ext",
        props: &[p("icmp_type_hex", Rule::Hex), p("icmp_code_hex", Rule::Hex)],
        required: &["icmp_type_hex", "icmp_code_hex"],
    },
    ExtensionSpec {
        name: "socket-ext",
        props: &[
            p("address_family", Rule::Enum(NETWORK_SOCKET_ADDRESS_FAMILY)),
            p("is_blocking", Rule::Bool),
            p("is_listening", Rule::Bool),
            p("options", Rule::DictOf(&ANY_INT)),
            p("socket_type", Rule::Enum(NETWORK_SOCKET_TYPE)),
            p("socket_descriptor", NON_NEGATIVE),
            p("socket_handle", ANY_INT),
        ],
        required: &["address_family"],
    },
    ExtensionSpec {
        name: "tcp-ext",
        props: &[p("src_flags_hex", Rule::Hex), p("dst_flags_hex", Rule::Hex)],
        required: &[],
    },
];

const TO_ADDRESS: Target = Target::Types(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]);
const PORT: Rule = Rule::Int { min: 0, max: 65535 };

static NETWORK_TRAFFIC: TypeSpec = sco(
    &[
        p("start", Rule::Timestamp),
        p("end", Rule::Timestamp),
        p("is_active", Rule::Bool),
        p("src_ref", Rule::Ref(TO_ADDRESS)),
        p("dst_ref", Rule::Ref(TO_ADDRESS)),
        p("src_port", PORT),
        p("dst_port", PORT),
        p("protocols", Rule::StrList),
        p("src_byte_count", NON_NEGATIVE),
        p("dst_byte_count", NON_NEGATIVE),
        p("src_packets", NON_NEGATIVE),
        p("dst_packets", NON_NEGATIVE),
        p("ipfix", Rule::Dict),
        p("src_payload_ref", Rule::Ref(TO_ARTIFACT)),
        p("dst_payload_ref", Rule::Ref(TO_ARTIFACT)),
        p("encapsulates_refs", Rule::Refs(TO_NETWORK_TRAFFIC)),
        p("encapsulated_by_ref", Rule::Ref(TO_NETWORK_TRAFFIC)),
    ],
    &["protocols"],
    &[
        "start",
        "end",
        "src_ref",
        "dst_ref",
        "src_port",
        "dst_port",
        "protocols",
        "extensions",
    ],
    NETWORK_TRAFFIC_EXTENSIONS,
    network_traffic_rules,
);

const PROCESS_EXTENSIONS: &[ExtensionSpec] = &[
    ExtensionSpec {
        name: "windows-process-ext",
        props: &[
            p("aslr_enabled", Rule::Bool),
            p("dep_enabled", Rule::Bool),
            p("priority", Rule::Str),
            p("owner_sid", Rule::Str),
            p("window_title", Rule::Str),
            p("startup_info", Rule::Dict),
            p("integrity_level", Rule::Enum(WINDOWS_INTEGRITY_LEVEL)),
        ],
        required: &[],
    },
    ExtensionSpec {
        name: "windows-service-ext",
        props: &[
            p("service_name", Rule::Str),
            p("descriptions", Rule::StrList),
            p("display_name", Rule::Str),
            p("group_name", Rule::Str),
            p("start_type", Rule::Enum(WINDOWS_SERVICE_START_TYPE)),
            p("service_dll_refs", Rule::Refs(TO_FILE)),
            p("service_type", Rule::Enum(WINDOWS_SERVICE_TYPE)),
            p("service_status", Rule::Enum(WINDOWS_SERVICE_STATUS)),
        ],
        required: &[],
    },
];

/// The properties of a process object that count towards "at least one property".
const PROCESS_OWN: &[Prop] = &[
    p("is_hidden", Rule::Bool),
    p("pid", ANY_INT),
    p("created_time", Rule::Timestamp),
    p("cwd", Rule::Str),
    p("command_line", Rule::Str),
    p("environment_variables", Rule::DictOf(&Rule::Str)),
    p("opened_connection_refs", Rule::Refs(TO_NETWORK_TRAFFIC)),
    p("creator_user_ref", Rule::Ref(TO_USER_ACCOUNT)),
    p("image_ref", Rule::Ref(TO_FILE)),
    p("parent_ref", Rule::Ref(Target::Types(&["process"]))),
    p("child_refs", Rule::Refs(Target::Types(&["process"]))),
];

static PROCESS: TypeSpec = sco(PROCESS_OWN, &[], &[], PROCESS_EXTENSIONS, process_rules);

static SOFTWARE: TypeSpec = sco(
    &[
        p("name", Rule::Str),
        p("cpe", Rule::Str),
        p("swid", Rule::Str),
        p("languages", Rule::StrList),
        p("vendor", Rule::Str),
        p("version", Rule::Str),
    ],
    &["name"],
    &["name", "cpe", "swid", "vendor", "version"],
    &[],
    no_rules,
);

static URL: TypeSpec = sco(
    &[p("value", Rule::Str)],
    &["value"],
    &["value"],
    &[],
    no_rules,
);

const USER_ACCOUNT_EXTENSIONS: &[ExtensionSpec] = &[ExtensionSpec {
    name: "unix-account-ext",
    props: &[
        p("gid", ANY_INT),
        p("groups", Rule::StrList),
        p("home_dir", Rule::Str),
        p("shell", Rule::Str),
    ],
    required: &[],
}];

/// The properties of a user account that count towards "at least one property".
const USER_ACCOUNT_OWN: &[Prop] = &[
    p("user_id", Rule::Str),
    p("credential", Rule::Str),
    p("account_login", Rule::Str),
    p("account_type", Rule::Vocab(ACCOUNT_TYPE)),
    p("display_name", Rule::Str),
    p("is_service_account", Rule::Bool),
    p("is_privileged", Rule::Bool),
    p("can_escalate_privs", Rule::Bool),
    p("is_disabled", Rule::Bool),
    p("account_created", Rule::Timestamp),
    p("account_expires", Rule::Timestamp),
    p("credential_last_changed", Rule::Timestamp),
    p("account_first_login", Rule::Timestamp),
    p("account_last_login", Rule::Timestamp),
];

static USER_ACCOUNT: TypeSpec = sco(
    USER_ACCOUNT_OWN,
    &[],
    &["account_type", "user_id", "account_login"],
    USER_ACCOUNT_EXTENSIONS,
    user_account_rules,
);

const WINDOWS_REGISTRY_VALUE: &[Prop] = &[
    p("name", Rule::Str),
    p("data", Rule::Str),
    p("data_type", Rule::Enum(WINDOWS_REGISTRY_DATATYPE)),
];

/// The properties of a registry key that count towards "at least one property".
const WINDOWS_REGISTRY_KEY_OWN: &[Prop] = &[
    p("key", Rule::Str),
    p("values", Rule::ObjectsOfAtLeastOne(WINDOWS_REGISTRY_VALUE)),
    p("modified_time", Rule::Timestamp),
    p("creator_user_ref", Rule::Ref(TO_USER_ACCOUNT)),
    p("number_of_subkeys", ANY_INT),
];

static WINDOWS_REGISTRY_KEY: TypeSpec = sco(
    WINDOWS_REGISTRY_KEY_OWN,
    &[],
    &["key", "values"],
    &[],
    windows_registry_key_rules,
);

const X509_V3_EXTENSIONS: &[Prop] = &[
    p("basic_constraints", Rule::Str),
    p("name_constraints", Rule::Str),
    p("policy_constraints", Rule::Str),
    p("key_usage", Rule::Str),
    p("extended_key_usage", Rule::Str),
    p("subject_key_identifier", Rule::Str),
    p("authority_key_identifier", Rule::Str),
    p("subject_alternative_name", Rule::Str),
    p("issuer_alternative_name", Rule::Str),
    p("subject_directory_attributes", Rule::Str),
    p("crl_distribution_points", Rule::Str),
    p("inhibit_any_policy", Rule::Str),
    p("private_key_usage_period_not_before", Rule::Timestamp),
    p("private_key_usage_period_not_after", Rule::Timestamp),
    p("certificate_policies", Rule::Str),
    p("policy_mappings", Rule::Str),
];

/// The properties of an X.509 certificate that count towards "at least one property".
const X509_OWN: &[Prop] = &[
    p("is_self_signed", Rule::Bool),
    p("hashes", Rule::Hashes),
    p("version", Rule::Str),
    p("serial_number", Rule::Str),
    p("signature_algorithm", Rule::Str),
    p("issuer", Rule::Str),
    p("validity_not_before", Rule::Timestamp),
    p("validity_not_after", Rule::Timestamp),
    p("subject", Rule::Str),
    p("subject_public_key_algorithm", Rule::Str),
    p("subject_public_key_modulus", Rule::Str),
    p("subject_public_key_exponent", ANY_INT),
    p(
        "x509_v3_extensions",
        Rule::ObjectOfAtLeastOne(X509_V3_EXTENSIONS),
    ),
];

static X509_CERTIFICATE: TypeSpec =
    sco(X509_OWN, &[], &["hashes", "serial_number"], &[], x509_rules);

// ---------------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------------

/// One validation run over one object: the object, what is known of its type, and the reasons found.
struct Checker<'a> {
    obj: &'a Map<String, Value>,
    /// The object's `type`, empty when missing or not a string.
    ty: &'a str,
    /// The specification's definition of that type; `None` for custom types.
    spec: Option<&'static TypeSpec>,
    errors: Vec<Reason>,
    warnings: Vec<Reason>,
}

impl<'a> Checker<'a> {
    fn error(&mut self, code: &'static str, at: At<'_>, message: impl Into<String>) {
        self.errors.push(Reason {
            code,
            property: at.to_string(),
            message: message.into(),
        });
    }

    fn warn(&mut self, code: &'static str, at: At<'_>, message: impl Into<String>) {
        self.warnings.push(Reason {
            code,
            property: at.to_string(),
            message: message.into(),
        });
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name)
    }

    fn has(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    fn get_str(&self, name: &str) -> Option<&'a str> {
        self.obj.get(name).and_then(Value::as_str)
    }

    fn run(&mut self) {
        let obj = self.obj;
        match obj.get("type") {
            Some(Value::String(ty)) => self.ty = ty,
            Some(other) => self.error(
                "invalid_type",
                At::Field(&TOP, "type"),
                format!("`type` must be a string, got {}", kind(other)),
            ),
            None => {}
        }
        self.spec = type_spec(self.ty);
        let category = self.spec.map_or(Category::Custom, |spec| spec.category);
        if self.spec.is_none() && !self.ty.is_empty() {
            self.custom_type_name();
        }
        for name in category_required(category)
            .iter()
            .chain(self.spec.map_or(&[][..], |spec| spec.required))
        {
            if !obj.contains_key(*name) {
                self.error(
                    "missing_property",
                    At::Field(&TOP, name),
                    format!("`{name}` is required"),
                );
            }
        }
        self.id(category);

        let common = common_props(category);
        let own = self.spec.map_or(&[][..], |spec| spec.props);
        let prefix_expected = self.spec.is_some() && !self.has_toplevel_property_extension();
        for (name, value) in obj {
            if name == "type" || name == "id" {
                continue;
            }
            match find_rule(own, name).or_else(|| find_rule(common, name)) {
                Some(rule) => self.rule(rule, value, At::Field(&TOP, name)),
                None => self.custom_property(name, prefix_expected),
            }
        }

        self.precision("created");
        self.precision("modified");
        self.order("created", "modified", false, "modified_before_created");
        if let Some(spec) = self.spec {
            (spec.rules)(self);
        }
    }

    /// A custom object's type: the naming MUST (STIX 2.1 section 3.1) and the `x-` SHOULD.
    fn custom_type_name(&mut self) {
        let ty = self.ty;
        let at = At::Field(&TOP, "type");
        if !valid_type_name(ty) {
            self.error(
                "invalid_custom_type_name",
                at,
                format!(
                    "custom type {ty:?} must be 3-250 characters of a-z, 0-9 and single hyphens, starting with a letter"
                ),
            );
        } else if !ty.starts_with("x-") {
            self.warn(
                "custom_type_prefix",
                at,
                format!("custom type {ty:?} should start with `x-`"),
            );
        }
    }

    /// `id`: `type--UUID` with the object's own type and an RFC 4122 UUID. The UUID version SHOULD be
    /// 4, and 5 for SCOs; it MUST be 4 for an SCO none of whose ID Contributing Properties is present
    /// when they are all optional (STIX 2.1 section 2.9), so always for a process, which has none.
    fn id(&mut self, category: Category) {
        let Some(value) = self.get("id") else {
            return;
        };
        let at = At::Field(&TOP, "id");
        let Value::String(id) = value else {
            self.error(
                "invalid_type",
                at,
                format!("`id` must be a string, got {}", kind(value)),
            );
            return;
        };
        let (ty, version) = match parse_identifier(id) {
            Ok(parts) => parts,
            Err(why) => {
                self.error(
                    "invalid_id",
                    at,
                    format!("`id` {id:?} is not a STIX identifier: {why}"),
                );
                return;
            }
        };
        if !self.ty.is_empty() && ty != self.ty {
            self.error(
                "invalid_id",
                at,
                format!("`id` {id:?} must start with `{}--`", self.ty),
            );
            return;
        }
        let expected = match (category, self.spec) {
            (Category::Sco, Some(spec)) => {
                let contributing = spec.id_contributing;
                let all_optional = !contributing.iter().any(|name| spec.required.contains(name));
                if all_optional && !contributing.iter().any(|name| self.has(name)) {
                    if version != 4 {
                        let why = if contributing.is_empty() {
                            format!("a {} has no ID Contributing Properties", self.ty)
                        } else {
                            format!(
                                "none of its ID Contributing Properties (`{}`) is present",
                                contributing.join("`, `")
                            )
                        };
                        self.error(
                            "invalid_id",
                            at,
                            format!("the UUID of `id` must be version 4, not {version}: {why}"),
                        );
                    }
                    return;
                }
                5
            }
            (Category::Custom, _) => return,
            _ => 4,
        };
        if version != expected {
            self.warn(
                "uuid_version",
                at,
                format!("the UUID of `id` should be version {expected}, not {version}"),
            );
        }
    }

    /// Whether an extension adds properties at the top level (then unprefixed names are expected).
    fn has_toplevel_property_extension(&self) -> bool {
        match self.get("extensions") {
            Some(Value::Object(extensions)) => extensions.values().any(|extension| {
                extension.get("extension_type").and_then(Value::as_str)
                    == Some("toplevel-property-extension")
            }),
            _ => false,
        }
    }

    /// A property the specification does not define for this type: its name MUST follow the property
    /// naming rules (STIX 2.1 sections 3.1 and 11.1) and SHOULD start with `x_` on spec-defined types.
    fn custom_property(&mut self, name: &str, prefix_expected: bool) {
        let at = At::Field(&TOP, name);
        if name == "defanged" {
            // SCOs and custom objects list `defanged` among their properties; anything else is not an SCO.
            self.error(
                "invalid_property",
                at,
                "`defanged` is only for SCOs (STIX 2.1 section 3.2): it must not be used on other objects",
            );
        } else if RESERVED_PROPERTY_NAMES.contains(&name) {
            self.error(
                "reserved_property_name",
                at,
                format!("{name:?} is a reserved property name (STIX 2.1 section 3.8): it must not be used"),
            );
        } else if !valid_property_name(name) {
            self.error(
                "invalid_custom_property_name",
                at,
                format!(
                    "custom property {name:?} must be 3-250 characters of a-z, 0-9 and _, starting with a letter"
                ),
            );
        } else if prefix_expected && !name.starts_with("x_") {
            self.warn(
                "custom_property_prefix",
                at,
                format!(
                    "{name:?} is not a `{}` property of the specification; custom properties should start with `x_`",
                    self.ty
                ),
            );
        }
    }

    // -- values ------------------------------------------------------------------------------------

    fn rule(&mut self, rule: Rule, v: &'a Value, at: At<'_>) {
        match rule {
            Rule::Any => {}
            Rule::Str => {
                self.string(v, at);
            }
            Rule::Bool => {
                if !v.is_boolean() {
                    self.type_error(v, at, "a boolean");
                }
            }
            Rule::Timestamp => {
                self.timestamp(v, at);
            }
            Rule::Int { min, max } => self.integer(v, at, min, max),
            Rule::Num { min, max } => self.number(v, at, min, max),
            Rule::StrList => self.each(v, at, |c, item, at| {
                c.string(item, at);
            }),
            Rule::Ref(target) => self.reference(v, at, target),
            Rule::Refs(target) => self.each(v, at, |c, item, at| c.reference(item, at, target)),
            Rule::Vocab(vocab) => self.vocab(v, at, vocab),
            Rule::VocabList(vocab) => self.each(v, at, |c, item, at| c.vocab(item, at, vocab)),
            Rule::Enum(values) => self.enumeration(v, at, values),
            Rule::EnumList(values) => {
                self.each(v, at, |c, item, at| c.enumeration(item, at, values))
            }
            Rule::KillChainPhases => self.each(v, at, Self::kill_chain_phase),
            Rule::ExternalReferences => self.each(v, at, Self::external_reference),
            Rule::GranularMarkings => self.each(v, at, Self::granular_marking),
            Rule::Extensions => self.extensions(v, at),
            Rule::Hashes => self.hashes(v, at),
            Rule::Dict => {
                self.dictionary(v, at);
            }
            Rule::DictOf(value_rule) => {
                if let Some(map) = self.dictionary(v, at) {
                    for (key, value) in map {
                        self.rule(*value_rule, value, At::Field(&at, key));
                    }
                }
            }
            Rule::Object => {
                self.object(v, at);
            }
            Rule::ObjectOf(props, required) => self.object_of(v, at, props, required),
            Rule::ObjectsOf(props, required) => {
                self.each(v, at, |c, item, at| c.object_of(item, at, props, required))
            }
            Rule::ObjectOfAtLeastOne(props) => self.object_of_at_least_one(v, at, props),
            Rule::ObjectsOfAtLeastOne(props) => self.each(v, at, |c, item, at| {
                c.object_of_at_least_one(item, at, props)
            }),
            Rule::Lang => {
                if let Some(tag) = self.string(v, at) {
                    if !valid_language_tag(tag) {
                        self.error(
                            "invalid_value",
                            at,
                            format!("{tag:?} is not an RFC 5646 language tag"),
                        );
                    }
                }
            }
            Rule::Binary => {
                if let Some(s) = self.string(v, at) {
                    if !valid_base64(s) {
                        self.error("invalid_value", at, "must be base64 (RFC 4648 section 4)");
                    }
                }
            }
            Rule::Hex => {
                if let Some(s) = self.string(v, at) {
                    if !valid_hex(s) {
                        self.error(
                            "invalid_value",
                            at,
                            format!(
                                "{s:?} must be an even number of hexadecimal digits (0-9, a-f)"
                            ),
                        );
                    }
                }
            }
            Rule::SpecVersion => {
                if let Some(version) = self.string(v, at) {
                    if version != "2.1" {
                        self.error(
                            "invalid_value",
                            at,
                            format!("`spec_version` must be \"2.1\", got {version:?}"),
                        );
                    }
                }
            }
        }
    }

    fn type_error(&mut self, v: &Value, at: At<'_>, expected: &str) {
        self.error(
            "invalid_type",
            at,
            format!("expected {expected}, got {}", kind(v)),
        );
    }

    fn string(&mut self, v: &'a Value, at: At<'_>) -> Option<&'a str> {
        match v {
            Value::String(s) => Some(s),
            _ => {
                self.type_error(v, at, "a string");
                None
            }
        }
    }

    fn object(&mut self, v: &'a Value, at: At<'_>) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(map) => Some(map),
            _ => {
                self.type_error(v, at, "an object");
                None
            }
        }
    }

    /// A non-empty list ("empty lists are prohibited"), each item checked by `f`.
    fn each(&mut self, v: &'a Value, at: At<'_>, mut f: impl FnMut(&mut Self, &'a Value, At<'_>)) {
        let Value::Array(items) = v else {
            self.type_error(v, at, "a list");
            return;
        };
        if items.is_empty() {
            self.error(
                "invalid_value",
                at,
                "empty lists are prohibited; omit the property instead",
            );
            return;
        }
        for (index, item) in items.iter().enumerate() {
            f(self, item, At::Item(&at, index));
        }
    }

    fn timestamp(&mut self, v: &'a Value, at: At<'_>) -> Option<Stamp> {
        let s = self.string(v, at)?;
        let stamp = parse_timestamp(s);
        if stamp.is_none() {
            self.error(
                "invalid_timestamp",
                at,
                format!("{s:?} is not a timestamp of the form YYYY-MM-DDTHH:mm:ss[.s+]Z"),
            );
        }
        stamp
    }

    fn integer(&mut self, v: &Value, at: At<'_>, min: i64, max: i64) {
        let Value::Number(n) = v else {
            self.type_error(v, at, "an integer");
            return;
        };
        let value = match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i128::from(i),
            (None, Some(u)) => i128::from(u),
            (None, None) => {
                self.type_error(v, at, "an integer");
                return;
            }
        };
        if !(i128::from(min)..=i128::from(max)).contains(&value) {
            self.error(
                "out_of_range",
                at,
                format!("{value} is outside {min}..={max}"),
            );
        }
    }

    fn number(&mut self, v: &Value, at: At<'_>, min: f64, max: f64) {
        let Some(value) = v.as_f64() else {
            self.type_error(v, at, "a number");
            return;
        };
        if !(min..=max).contains(&value) {
            self.error(
                "out_of_range",
                at,
                format!("{value} is outside {min}..={max}"),
            );
        }
    }

    fn reference(&mut self, v: &'a Value, at: At<'_>, target: Target) {
        let Some(id) = self.string(v, at) else {
            return;
        };
        match parse_identifier(id) {
            Err(why) => self.error(
                "invalid_reference",
                at,
                format!("{id:?} is not a STIX identifier: {why}"),
            ),
            Ok((ty, _)) => {
                if !target.allows(ty) {
                    self.error(
                        "invalid_reference",
                        at,
                        format!("{id:?} must refer to {}", target.describe()),
                    );
                }
            }
        }
    }

    fn vocab(&mut self, v: &'a Value, at: At<'_>, vocab: &[&str]) {
        if let Some(s) = self.string(v, at) {
            if !vocab.contains(&s) {
                self.warn(
                    "open_vocabulary",
                    at,
                    format!("{s:?} is not in the specification's suggested vocabulary"),
                );
            }
        }
    }

    fn enumeration(&mut self, v: &'a Value, at: At<'_>, values: &[&str]) {
        if let Some(s) = self.string(v, at) {
            if !values.contains(&s) {
                self.error(
                    "not_in_enum",
                    at,
                    format!("{s:?} must be one of: {}", values.join(", ")),
                );
            }
        }
    }

    /// A JSON object checked against a property table (unknown keys are left alone) and its required
    /// properties.
    fn object_of(
        &mut self,
        v: &'a Value,
        at: At<'_>,
        props: &'static [Prop],
        required: &'static [&'static str],
    ) {
        let Some(map) = self.object(v, at) else {
            return;
        };
        self.known_properties(map, at, props, required);
    }

    /// A JSON object checked against a property table, at least one of whose properties MUST be
    /// present.
    fn object_of_at_least_one(&mut self, v: &'a Value, at: At<'_>, props: &'static [Prop]) {
        let Some(map) = self.object(v, at) else {
            return;
        };
        if !props.iter().any(|prop| map.contains_key(prop.name)) {
            let names: Vec<&str> = props.iter().map(|prop| prop.name).collect();
            self.error(
                "missing_property",
                at,
                format!("needs at least one of `{}`", names.join("`, `")),
            );
        }
        self.known_properties(map, at, props, &[]);
    }

    fn known_properties(
        &mut self,
        map: &'a Map<String, Value>,
        at: At<'_>,
        props: &'static [Prop],
        required: &'static [&'static str],
    ) {
        for name in required {
            if !map.contains_key(*name) {
                self.error(
                    "missing_property",
                    At::Field(&at, name),
                    format!("`{name}` is required"),
                );
            }
        }
        for (name, value) in map {
            if let Some(rule) = find_rule(props, name) {
                self.rule(rule, value, At::Field(&at, name));
            }
        }
    }

    /// A dictionary: not empty (STIX 2.1 section 2.3), keys of 1-250 characters of a-z, A-Z, 0-9, `-`
    /// and `_` (section 2.6).
    fn dictionary(&mut self, v: &'a Value, at: At<'_>) -> Option<&'a Map<String, Value>> {
        let map = self.object(v, at)?;
        if map.is_empty() {
            self.error(
                "invalid_value",
                at,
                "empty dictionaries are prohibited; omit the property instead",
            );
        }
        for key in map.keys() {
            let ok = (1..=250).contains(&key.len())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                self.error(
                    "invalid_value",
                    At::Field(&at, key),
                    format!(
                        "dictionary key {key:?} must be 1-250 characters of a-z, A-Z, 0-9, - and _"
                    ),
                );
            }
        }
        Some(map)
    }

    // -- common embedded types ---------------------------------------------------------------------

    /// STIX 2.1 section 2.8: `kill_chain_name` and `phase_name`, both strings, both SHOULD be lowercase
    /// with hyphens.
    fn kill_chain_phase(&mut self, v: &'a Value, at: At<'_>) {
        let Value::Object(phase) = v else {
            self.error(
                "invalid_kill_chain_phase",
                at,
                format!("a kill chain phase must be an object, got {}", kind(v)),
            );
            return;
        };
        for name in ["kill_chain_name", "phase_name"] {
            let field = At::Field(&at, name);
            match phase.get(name) {
                Some(Value::String(s)) => {
                    if !lowercase_hyphenated(s) {
                        self.warn(
                            "kill_chain_phase_format",
                            field,
                            format!("{s:?} should be lowercase with hyphens as word separators"),
                        );
                    }
                }
                Some(other) => self.error(
                    "invalid_kill_chain_phase",
                    field,
                    format!("`{name}` must be a string, got {}", kind(other)),
                ),
                None => self.error(
                    "invalid_kill_chain_phase",
                    field,
                    format!("a kill chain phase needs `{name}`"),
                ),
            }
        }
    }

    /// STIX 2.1 section 2.5: `source_name`, and at least one of `description`, `url`, `external_id`.
    fn external_reference(&mut self, v: &'a Value, at: At<'_>) {
        let Value::Object(reference) = v else {
            self.error(
                "invalid_external_reference",
                at,
                format!("an external reference must be an object, got {}", kind(v)),
            );
            return;
        };
        let source_at = At::Field(&at, "source_name");
        let source = match reference.get("source_name") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                self.type_error(other, source_at, "a string");
                None
            }
            None => {
                self.error(
                    "invalid_external_reference",
                    source_at,
                    "an external reference needs `source_name`",
                );
                None
            }
        };
        if !["description", "url", "external_id"]
            .iter()
            .any(|name| reference.contains_key(*name))
        {
            self.error(
                "invalid_external_reference",
                at,
                "an external reference needs at least one of `description`, `url`, `external_id`",
            );
        }
        for name in ["description", "url"] {
            if let Some(value) = reference.get(name) {
                self.string(value, At::Field(&at, name));
            }
        }
        if let Some(hashes) = reference.get("hashes") {
            self.hashes(hashes, At::Field(&at, "hashes"));
        }
        let Some(value) = reference.get("external_id") else {
            return;
        };
        let id_at = At::Field(&at, "external_id");
        let Some(external_id) = self.string(value, id_at) else {
            return;
        };
        let well_formed = match source {
            Some("cve") => valid_cve_id(external_id),
            Some("capec") => valid_capec_id(external_id),
            _ => true,
        };
        if !well_formed {
            self.error(
                "invalid_external_reference",
                id_at,
                format!(
                    "{external_id:?} is not a {} identifier",
                    source.unwrap_or_default().to_uppercase()
                ),
            );
        }
    }

    /// STIX 2.1 section 7.2.3: `selectors` (non-empty, each selecting something present in the object)
    /// and exactly one of `marking_ref` and `lang`.
    fn granular_marking(&mut self, v: &'a Value, at: At<'_>) {
        let Value::Object(marking) = v else {
            self.error(
                "invalid_granular_marking",
                at,
                format!("a granular marking must be an object, got {}", kind(v)),
            );
            return;
        };
        match (marking.get("marking_ref"), marking.get("lang")) {
            (Some(_), Some(_)) | (None, None) => self.error(
                "invalid_granular_marking",
                at,
                "a granular marking needs exactly one of `marking_ref` and `lang`",
            ),
            (Some(reference), None) => {
                self.reference(reference, At::Field(&at, "marking_ref"), TO_MARKING)
            }
            (None, Some(lang)) => self.rule(Rule::Lang, lang, At::Field(&at, "lang")),
        }
        let selectors_at = At::Field(&at, "selectors");
        let Some(selectors) = marking.get("selectors") else {
            self.error(
                "invalid_granular_marking",
                selectors_at,
                "a granular marking needs `selectors`",
            );
            return;
        };
        self.each(selectors, selectors_at, |c, selector, at| {
            if let Some(selector) = c.string(selector, at) {
                if let Err(why) = resolve_selector(c.obj, selector) {
                    c.error(
                        "invalid_selector",
                        at,
                        format!("selector {selector:?} selects nothing: {why}"),
                    );
                }
            }
        });
    }

    /// STIX 2.1 section 7.3: keys are extension-definition ids or `*-ext` names, values non-empty
    /// objects, with `extension_type` under an extension-definition id; predefined SCO extensions are
    /// checked against their tables.
    fn extensions(&mut self, v: &'a Value, at: At<'_>) {
        let Some(extensions) = self.object(v, at) else {
            return;
        };
        if extensions.is_empty() {
            self.error(
                "invalid_extension",
                at,
                "`extensions` must not be empty; omit it instead",
            );
        }
        for (key, value) in extensions {
            let key_at = At::Field(&at, key);
            let predefined = self
                .spec
                .and_then(|spec| spec.extensions.iter().find(|ext| ext.name == key.as_str()));
            let definition_id = key.starts_with("extension-definition--");
            if definition_id {
                if parse_identifier(key).is_err() {
                    self.error(
                        "invalid_extension",
                        key_at,
                        format!("extension key {key:?} is not an extension-definition identifier"),
                    );
                }
            } else if !valid_extension_name(key) {
                self.error(
                    "invalid_extension",
                    key_at,
                    format!(
                        "extension key {key:?} must be an extension-definition id or a name ending in `-ext`"
                    ),
                );
            } else if predefined.is_none() && !key.starts_with("x-") {
                self.warn(
                    "custom_extension_prefix",
                    key_at,
                    format!(
                        "{key:?} is not a predefined extension of `{}`; custom extensions should be defined by an extension-definition",
                        self.ty
                    ),
                );
            }
            let Value::Object(body) = value else {
                self.error(
                    "invalid_extension",
                    key_at,
                    format!("an extension must be an object, got {}", kind(value)),
                );
                continue;
            };
            if body.is_empty() {
                self.error(
                    "invalid_extension",
                    key_at,
                    "an extension must not be empty",
                );
            }
            match body.get("extension_type") {
                Some(extension_type) => self.enumeration(
                    extension_type,
                    At::Field(&key_at, "extension_type"),
                    EXTENSION_TYPE,
                ),
                // STIX 2.1 section 3.2: an extension-definition key means the extension facility of
                // section 7.3 is used, "When this extension facility is used the extension_type
                // property MUST be present"; predefined extensions go without it.
                None if definition_id => self.error(
                    "missing_property",
                    At::Field(&key_at, "extension_type"),
                    "`extension_type` is required in an extension defined by an extension-definition",
                ),
                None => {}
            }
            if let Some(ext) = predefined {
                self.known_properties(body, key_at, ext.props, ext.required);
            }
        }
    }

    /// STIX 2.1 section 2.7: keys of 3-250 characters of a-z, A-Z, 0-9, `-` and `_`, string values;
    /// algorithms SHOULD come from the hash-algorithm vocabulary, whose values MUST be well-formed.
    fn hashes(&mut self, v: &'a Value, at: At<'_>) {
        let Some(hashes) = self.object(v, at) else {
            return;
        };
        if hashes.is_empty() {
            self.error("invalid_value", at, "hashes must hold at least one hash");
        }
        for (algorithm, value) in hashes {
            let hash_at = At::Field(&at, algorithm);
            let key_ok = (3..=250).contains(&algorithm.len())
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !key_ok {
                self.error(
                    "invalid_value",
                    hash_at,
                    format!(
                        "hash algorithm name {algorithm:?} must be 3-250 characters of a-z, A-Z, 0-9, - and _"
                    ),
                );
            }
            let Some(hash) = self.string(value, hash_at) else {
                continue;
            };
            let hex_length = match algorithm.as_str() {
                "MD5" => Some(32),
                "SHA-1" => Some(40),
                "SHA-256" | "SHA3-256" => Some(64),
                "SHA-512" | "SHA3-512" => Some(128),
                _ => None,
            };
            if let Some(length) = hex_length {
                if hash.len() != length || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    self.error(
                        "invalid_value",
                        hash_at,
                        format!("a {algorithm} hash must be {length} hexadecimal digits"),
                    );
                }
            } else if key_ok
                && !HASH_ALGORITHM.contains(&algorithm.as_str())
                && !algorithm.starts_with("x_")
            {
                self.warn(
                    "open_vocabulary",
                    hash_at,
                    format!("{algorithm:?} is not in the hash-algorithm vocabulary"),
                );
            }
        }
    }

    // -- object-level helpers ----------------------------------------------------------------------

    /// A top-level timestamp, parsed quietly (its syntax is reported by the property's rule).
    fn stamp(&self, name: &str) -> Option<Stamp> {
        self.get_str(name).and_then(parse_timestamp)
    }

    /// `later` MUST NOT be before `earlier` (`strict`: MUST be after it).
    fn order(&mut self, earlier: &str, later: &str, strict: bool, code: &'static str) {
        let (Some(first), Some(second)) = (self.stamp(earlier), self.stamp(later)) else {
            return;
        };
        let wrong = if strict {
            second.instant <= first.instant
        } else {
            second.instant < first.instant
        };
        if wrong {
            let relation = if strict { "later than" } else { "at or after" };
            self.error(
                code,
                At::Field(&TOP, later),
                format!("`{later}` must be {relation} `{earlier}`"),
            );
        }
    }

    /// `created` and `modified` SHOULD carry at least millisecond precision (the specification says
    /// "precise to the nearest millisecond"; whole seconds are common in real data, so a warning).
    fn precision(&mut self, name: &'static str) {
        if let Some(stamp) = self.stamp(name) {
            if stamp.fraction_digits < 3 {
                self.warn(
                    "timestamp_precision",
                    At::Field(&TOP, name),
                    format!(
                        "`{name}` should be precise to the millisecond (three fractional digits)"
                    ),
                );
            }
        }
    }

    /// At least one of `names` must be present.
    fn require_one_of(&mut self, names: &[&str], message: &str) {
        if !names.iter().any(|name| self.has(name)) {
            self.error("missing_property", At::Field(&TOP, names[0]), message);
        }
    }

    /// `a` and `b` must not both be present.
    fn exclusive(&mut self, a: &str, b: &str) {
        if self.has(a) && self.has(b) {
            self.error(
                "invalid_value",
                At::Field(&TOP, b),
                format!("`{a}` and `{b}` must not both be present"),
            );
        }
    }

    /// The object's own identifier, when it is a string.
    fn own_id(&self) -> Option<&'a str> {
        self.get_str("id")
    }
}

// ---------------------------------------------------------------------------------------------------
// Type-specific rules
// ---------------------------------------------------------------------------------------------------

/// Campaign, infrastructure, intrusion set, malware, threat actor and sighting: `last_seen` MUST NOT
/// be before `first_seen`.
fn seen_rules(c: &mut Checker<'_>) {
    c.order(
        "first_seen",
        "last_seen",
        false,
        "first_seen_after_last_seen",
    );
}

/// `valid_until` MUST be later than `valid_from`; a `stix` pattern MUST parse.
fn indicator_rules(c: &mut Checker<'_>) {
    c.order(
        "valid_from",
        "valid_until",
        true,
        "valid_until_before_valid_from",
    );
    if c.get_str("pattern_type") != Some("stix") {
        return;
    }
    let Some(text) = c.get_str("pattern") else {
        return;
    };
    match pattern::parse(text) {
        Err(e) => c.error(
            "invalid_pattern",
            At::Field(&TOP, "pattern"),
            format!("not a valid STIX pattern: {e}"),
        ),
        Ok(parsed) => {
            if let Some((a, b)) = and_across_object_types(&parsed) {
                c.error(
                    "invalid_pattern",
                    At::Field(&TOP, "pattern"),
                    format!(
                        "comparisons on `{a}` and `{b}` are joined by AND in one observation; \
                         STIX 2.1 section 9.5 allows only OR between different object types"
                    ),
                );
            }
        }
    }
}

/// The first pair of different object types joined by AND inside one observation expression, if any.
fn and_across_object_types(pattern: &pattern::Pattern) -> Option<(String, String)> {
    use pattern::{ComparisonExpr, Pattern};
    fn types(expr: &ComparisonExpr, out: &mut Vec<String>) {
        match expr {
            ComparisonExpr::Comparison(c) => {
                if !out.contains(&c.path.object_type) {
                    out.push(c.path.object_type.clone());
                }
            }
            ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => {
                types(a, out);
                types(b, out);
            }
        }
    }
    fn in_comparison(expr: &ComparisonExpr) -> Option<(String, String)> {
        match expr {
            ComparisonExpr::Comparison(_) => None,
            ComparisonExpr::Or(a, b) => in_comparison(a).or_else(|| in_comparison(b)),
            ComparisonExpr::And(a, b) => {
                let mut found = Vec::new();
                types(expr, &mut found);
                if found.len() > 1 {
                    return Some((found[0].clone(), found[1].clone()));
                }
                in_comparison(a).or_else(|| in_comparison(b))
            }
        }
    }
    match pattern {
        Pattern::Observation { comparison, .. } => in_comparison(comparison),
        Pattern::And(a, b) | Pattern::Or(a, b) | Pattern::FollowedBy(a, b) => {
            and_across_object_types(a).or_else(|| and_across_object_types(b))
        }
        Pattern::Qualified(inner, _) => and_across_object_types(inner),
    }
}

/// `stop_time` MUST be later than `start_time`; `relationship_type` is a-z, 0-9 and hyphens and
/// SHOULD be one the specification lists for the source and target types.
fn relationship_rules(c: &mut Checker<'_>) {
    c.order(
        "start_time",
        "stop_time",
        true,
        "stop_time_before_start_time",
    );
    let Some(relationship_type) = c.get_str("relationship_type") else {
        return;
    };
    let at = At::Field(&TOP, "relationship_type");
    if relationship_type.is_empty()
        || !relationship_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        c.error(
            "invalid_value",
            at,
            format!("{relationship_type:?} must be a-z, 0-9 and hyphens"),
        );
        return;
    }
    let end_type = |name: &str| {
        c.get_str(name)
            .and_then(|id| parse_identifier(id).ok())
            .map(|(ty, _)| ty)
    };
    let (Some(source), Some(target)) = (end_type("source_ref"), end_type("target_ref")) else {
        return;
    };
    if matches!(
        relationship_type,
        "derived-from" | "duplicate-of" | "related-to"
    ) || type_spec(source).is_none()
        || type_spec(target).is_none()
    {
        return;
    }
    if !suggested_relationship(source, relationship_type, target) {
        c.warn(
            "relationship_type_not_in_spec",
            at,
            format!(
                "the specification does not define `{source}` {relationship_type:?} `{target}`"
            ),
        );
    }
}

/// `objects` (deprecated) or `object_refs`, exactly one; `last_observed` not before `first_observed`.
fn observed_data_rules(c: &mut Checker<'_>) {
    c.order(
        "first_observed",
        "last_observed",
        false,
        "last_observed_before_first_observed",
    );
    c.require_one_of(
        &["object_refs", "objects"],
        "observed-data needs `object_refs` (or the deprecated `objects`)",
    );
    c.exclusive("object_refs", "objects");
    // STIX 2.1 section 4.14.1: object_refs MUST contain at least one SCO reference (a custom type may be one).
    if let Some(Value::Array(refs)) = c.get("object_refs") {
        let has_observable = refs.iter().filter_map(Value::as_str).any(|r| {
            let ty = r.split("--").next().unwrap_or_default();
            matches!(
                type_spec(ty).map(|spec| spec.category),
                None | Some(Category::Sco)
            )
        });
        if !refs.is_empty() && !has_observable {
            c.error(
                "invalid_reference",
                At::Field(&TOP, "object_refs"),
                "observed-data `object_refs` must contain at least one SCO reference",
            );
        }
    }
    if c.has("objects") {
        c.warn(
            "deprecated_property",
            At::Field(&TOP, "objects"),
            "`objects` is deprecated in STIX 2.1; use `object_refs`",
        );
    }
}

/// Latitude and longitude come together (and `precision` needs them); a location needs a region, a
/// country or coordinates; `country` SHOULD be an ISO 3166-1 alpha-2 code.
fn location_rules(c: &mut Checker<'_>) {
    let latitude = c.has("latitude");
    let longitude = c.has("longitude");
    if latitude != longitude {
        let (present, missing) = if latitude {
            ("latitude", "longitude")
        } else {
            ("longitude", "latitude")
        };
        c.error(
            "missing_property",
            At::Field(&TOP, missing),
            format!("`{missing}` is required when `{present}` is present"),
        );
    }
    if c.has("precision") && !(latitude && longitude) {
        c.error(
            "missing_property",
            At::Field(&TOP, "latitude"),
            "`precision` requires `latitude` and `longitude`",
        );
    }
    if !(c.has("region") || c.has("country") || (latitude && longitude)) {
        c.error(
            "missing_property",
            At::Field(&TOP, "region"),
            "a location needs `region`, `country`, or `latitude` and `longitude`",
        );
    }
    if let Some(country) = c.get_str("country") {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            c.warn(
                "country_code",
                At::Field(&TOP, "country"),
                format!("{country:?} should be an ISO 3166-1 alpha-2 code"),
            );
        }
    }
}

/// A malware family (`is_family: true`) needs a name.
fn malware_rules(c: &mut Checker<'_>) {
    seen_rules(c);
    if c.get("is_family").and_then(Value::as_bool) == Some(true) && !c.has("name") {
        c.error(
            "missing_property",
            At::Field(&TOP, "name"),
            "`name` is required when `is_family` is true",
        );
    }
}

/// A malware analysis needs `result` or `analysis_sco_refs`.
fn malware_analysis_rules(c: &mut Checker<'_>) {
    c.require_one_of(
        &["result", "analysis_sco_refs"],
        "malware-analysis needs `result` or `analysis_sco_refs`",
    );
}

/// `definition_type` and `definition` unless the marking is an extension; statement and TLP
/// definitions; no references to itself.
fn marking_definition_rules(c: &mut Checker<'_>) {
    if !c.has("extensions") {
        for name in ["definition_type", "definition"] {
            if !c.has(name) {
                c.error(
                    "missing_property",
                    At::Field(&TOP, name),
                    format!("`{name}` is required when `extensions` is absent"),
                );
            }
        }
    }
    let definition_at = At::Field(&TOP, "definition");
    if let (Some(definition_type), Some(Value::Object(definition))) =
        (c.get_str("definition_type"), c.get("definition"))
    {
        let (field, rule) = match definition_type {
            "statement" => ("statement", Rule::Str),
            "tlp" => ("tlp", Rule::Enum(TLP_LEVEL)),
            _ => ("", Rule::Any),
        };
        if !field.is_empty() {
            let field_at = At::Field(&definition_at, field);
            match definition.get(field) {
                Some(value) => c.rule(rule, value, field_at),
                None => c.error(
                    "missing_property",
                    field_at,
                    format!("a {definition_type} marking definition needs `definition.{field}`"),
                ),
            }
        }
    }
    let Some(own_id) = c.own_id() else {
        return;
    };
    if let Some(Value::Array(refs)) = c.get("object_marking_refs") {
        for (index, reference) in refs.iter().enumerate() {
            if reference.as_str() == Some(own_id) {
                let list_at = At::Field(&TOP, "object_marking_refs");
                c.error(
                    "invalid_reference",
                    At::Item(&list_at, index),
                    "a marking definition must not mark itself",
                );
            }
        }
    }
    if let Some(Value::Array(markings)) = c.get("granular_markings") {
        for (index, marking) in markings.iter().enumerate() {
            if marking.get("marking_ref").and_then(Value::as_str) == Some(own_id) {
                let list_at = At::Field(&TOP, "granular_markings");
                let item_at = At::Item(&list_at, index);
                c.error(
                    "invalid_reference",
                    At::Field(&item_at, "marking_ref"),
                    "a marking definition must not mark itself",
                );
            }
        }
    }
}

/// `extension_properties` only with a `toplevel-property-extension`.
fn extension_definition_rules(c: &mut Checker<'_>) {
    if !c.has("extension_properties") {
        return;
    }
    let toplevel = match c.get("extension_types") {
        Some(Value::Array(types)) => types
            .iter()
            .any(|t| t.as_str() == Some("toplevel-property-extension")),
        _ => false,
    };
    if !toplevel {
        c.error(
            "invalid_value",
            At::Field(&TOP, "extension_properties"),
            "`extension_properties` is only allowed when `extension_types` has `toplevel-property-extension`",
        );
    }
}

/// `contents`: language tags to non-empty objects of translated properties.
fn language_content_rules(c: &mut Checker<'_>) {
    let Some(value) = c.get("contents") else {
        return;
    };
    let at = At::Field(&TOP, "contents");
    let Some(contents) = c.object(value, at) else {
        return;
    };
    if contents.is_empty() {
        c.error("invalid_value", at, "`contents` must not be empty");
    }
    for (language, translations) in contents {
        let language_at = At::Field(&at, language);
        if !valid_language_tag(language) {
            c.error(
                "invalid_value",
                language_at,
                format!("{language:?} is not an RFC 5646 language tag"),
            );
        }
        if let Some(translations) = c.object(translations, language_at) {
            if translations.is_empty() {
                c.error(
                    "invalid_value",
                    language_at,
                    "a language's contents must not be empty",
                );
            }
        }
    }
}

/// Exactly one of `payload_bin` and `url`; `hashes` with `url`; `decryption_key` only with
/// `encryption_algorithm`.
fn artifact_rules(c: &mut Checker<'_>) {
    c.require_one_of(
        &["payload_bin", "url"],
        "an artifact needs `payload_bin` or `url`",
    );
    c.exclusive("payload_bin", "url");
    if c.has("url") && !c.has("hashes") {
        c.error(
            "missing_property",
            At::Field(&TOP, "hashes"),
            "`hashes` is required when `url` is present",
        );
    }
    if c.has("decryption_key") && !c.has("encryption_algorithm") {
        c.error(
            "missing_property",
            At::Field(&TOP, "encryption_algorithm"),
            "`decryption_key` requires `encryption_algorithm`",
        );
    }
}

/// `body` only when not multipart, `body_multipart` only when multipart; each MIME part has exactly
/// one of `body` and `body_raw_ref`.
fn email_message_rules(c: &mut Checker<'_>) {
    match c.get("is_multipart").and_then(Value::as_bool) {
        Some(true) if c.has("body") => c.error(
            "invalid_value",
            At::Field(&TOP, "body"),
            "`body` must not be used when `is_multipart` is true",
        ),
        Some(false) if c.has("body_multipart") => c.error(
            "invalid_value",
            At::Field(&TOP, "body_multipart"),
            "`body_multipart` must not be used when `is_multipart` is false",
        ),
        _ => {}
    }
    let Some(Value::Array(parts)) = c.get("body_multipart") else {
        return;
    };
    let list_at = At::Field(&TOP, "body_multipart");
    for (index, part) in parts.iter().enumerate() {
        let Value::Object(part) = part else {
            continue;
        };
        if part.contains_key("body") == part.contains_key("body_raw_ref") {
            c.error(
                "invalid_value",
                At::Item(&list_at, index),
                "a MIME part needs exactly one of `body` and `body_raw_ref`",
            );
        }
    }
}

/// A file needs `hashes` or `name`.
fn file_rules(c: &mut Checker<'_>) {
    c.require_one_of(&["hashes", "name"], "a file needs `hashes` or `name`");
}

/// `value` MUST be an IPv4 address or CIDR block.
fn ipv4_rules(c: &mut Checker<'_>) {
    address_rule(
        c,
        |s| valid_cidr(s, 32, |a| a.parse::<std::net::Ipv4Addr>().is_ok()),
        "IPv4",
    );
}

/// `value` MUST be an IPv6 address or CIDR block.
fn ipv6_rules(c: &mut Checker<'_>) {
    address_rule(
        c,
        |s| valid_cidr(s, 128, |a| a.parse::<std::net::Ipv6Addr>().is_ok()),
        "IPv6",
    );
}

fn address_rule(c: &mut Checker<'_>, valid: impl Fn(&str) -> bool, family: &str) {
    if let Some(value) = c.get_str("value") {
        if !valid(value) {
            c.error(
                "invalid_value",
                At::Field(&TOP, "value"),
                format!("{value:?} is not an {family} address or CIDR block"),
            );
        }
    }
}

/// `value` MUST be a lowercase, colon-delimited MAC-48 address with leading zeros.
fn mac_rules(c: &mut Checker<'_>) {
    if let Some(value) = c.get_str("value") {
        let bytes = value.as_bytes();
        let ok = bytes.len() == 17
            && bytes.iter().enumerate().all(|(i, &b)| {
                if i % 3 == 2 {
                    b == b':'
                } else {
                    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                }
            });
        if !ok {
            c.error(
                "invalid_value",
                At::Field(&TOP, "value"),
                format!("{value:?} must be a lowercase, colon-delimited MAC-48 address"),
            );
        }
    }
}

/// `src_ref` or `dst_ref`; no `end` while active; `end` not before `start`; `tcp-ext` has flags.
fn network_traffic_rules(c: &mut Checker<'_>) {
    c.require_one_of(
        &["src_ref", "dst_ref"],
        "network-traffic needs `src_ref` or `dst_ref`",
    );
    if c.get("is_active").and_then(Value::as_bool) == Some(true) && c.has("end") {
        c.error(
            "invalid_value",
            At::Field(&TOP, "end"),
            "`end` must not be present when `is_active` is true",
        );
    }
    c.order("start", "end", false, "end_before_start");
    if let Some(tcp) = c
        .get("extensions")
        .and_then(|extensions| extensions.get("tcp-ext"))
        .and_then(Value::as_object)
    {
        if !tcp.contains_key("src_flags_hex") && !tcp.contains_key("dst_flags_hex") {
            let extensions_at = At::Field(&TOP, "extensions");
            c.error(
                "missing_property",
                At::Field(&extensions_at, "tcp-ext"),
                "`tcp-ext` needs `src_flags_hex` or `dst_flags_hex`",
            );
        }
    }
}

/// A process needs at least one property of its own or an extension.
fn process_rules(c: &mut Checker<'_>) {
    at_least_one_own(
        c,
        PROCESS_OWN,
        "a process needs at least one process property",
    );
}

/// A user account needs at least one property of its own or an extension (STIX 2.1 section 6.16).
fn user_account_rules(c: &mut Checker<'_>) {
    at_least_one_own(
        c,
        USER_ACCOUNT_OWN,
        "a user-account needs at least one user-account property",
    );
}

/// A registry key needs at least one property of its own (STIX 2.1 section 6.17).
fn windows_registry_key_rules(c: &mut Checker<'_>) {
    at_least_one_own(
        c,
        WINDOWS_REGISTRY_KEY_OWN,
        "a windows-registry-key needs at least one registry key property",
    );
}

/// An X.509 certificate needs at least one property of its own.
fn x509_rules(c: &mut Checker<'_>) {
    at_least_one_own(
        c,
        X509_OWN,
        "an x509-certificate needs at least one certificate property",
    );
}

fn at_least_one_own(c: &mut Checker<'_>, own: &[Prop], message: &str) {
    if !c.has("extensions") && !own.iter().any(|prop| c.has(prop.name)) {
        c.error("missing_property", TOP, message);
    }
}

/// Relationship types the specification lists per source and target type (STIX 2.1 section 4 and
/// appendix B), besides `derived-from`, `duplicate-of` and `related-to`, which join any two objects.
fn suggested_relationship(source: &str, relationship_type: &str, target: &str) -> bool {
    if (source, relationship_type) == ("infrastructure", "consists-of") {
        return matches!(target, "infrastructure" | "observed-data")
            || type_spec(target).is_some_and(|spec| spec.category == Category::Sco);
    }
    let targets: &[&str] = match (source, relationship_type) {
        ("attack-pattern", "delivers") => &["malware"],
        ("attack-pattern", "targets") => &["identity", "location", "vulnerability"],
        ("attack-pattern", "uses") => &["malware", "tool"],
        ("campaign", "attributed-to") => &["intrusion-set", "threat-actor"],
        ("campaign", "compromises") => &["infrastructure"],
        ("campaign", "originates-from") => &["location"],
        ("campaign", "targets") => &["identity", "location", "vulnerability"],
        ("campaign", "uses") => &["attack-pattern", "infrastructure", "malware", "tool"],
        ("course-of-action", "investigates") => &["indicator"],
        ("course-of-action", "mitigates") => &[
            "attack-pattern",
            "indicator",
            "malware",
            "tool",
            "vulnerability",
        ],
        ("course-of-action", "remediates") => &["malware", "vulnerability"],
        ("domain-name", "resolves-to") => &["domain-name", "ipv4-addr", "ipv6-addr"],
        ("identity", "located-at") => &["location"],
        ("indicator", "based-on") => &["observed-data"],
        ("indicator", "indicates") => &[
            "attack-pattern",
            "campaign",
            "infrastructure",
            "intrusion-set",
            "malware",
            "threat-actor",
            "tool",
        ],
        ("infrastructure", "communicates-with") => &[
            "infrastructure",
            "ipv4-addr",
            "ipv6-addr",
            "domain-name",
            "url",
        ],
        ("infrastructure", "controls") => &["infrastructure", "malware"],
        ("infrastructure", "delivers") => &["malware"],
        ("infrastructure", "has") => &["vulnerability"],
        ("infrastructure", "hosts") => &["tool", "malware"],
        ("infrastructure", "located-at") => &["location"],
        ("infrastructure", "uses") => &["infrastructure"],
        ("intrusion-set", "attributed-to") => &["threat-actor"],
        ("intrusion-set", "compromises" | "hosts" | "owns") => &["infrastructure"],
        ("intrusion-set", "originates-from") => &["location"],
        ("intrusion-set", "targets") => &["identity", "location", "vulnerability"],
        ("intrusion-set", "uses") => &["attack-pattern", "infrastructure", "malware", "tool"],
        ("ipv4-addr" | "ipv6-addr", "resolves-to") => &["mac-addr"],
        ("ipv4-addr" | "ipv6-addr", "belongs-to") => &["autonomous-system"],
        ("malware", "authored-by") => &["threat-actor", "intrusion-set"],
        ("malware", "beacons-to" | "exfiltrate-to" | "exfiltrates-to") => &["infrastructure"],
        ("malware", "communicates-with") => &["ipv4-addr", "ipv6-addr", "domain-name", "url"],
        ("malware", "controls" | "variant-of") => &["malware"],
        ("malware", "downloads" | "drops") => &["malware", "tool", "file"],
        ("malware", "exploits") => &["vulnerability"],
        ("malware", "originates-from") => &["location"],
        ("malware", "targets") => &["identity", "infrastructure", "location", "vulnerability"],
        ("malware", "uses") => &["attack-pattern", "infrastructure", "malware", "tool"],
        (
            "malware-analysis",
            "characterizes"
            | "analysis-of"
            | "av-analysis-of"
            | "static-analysis-of"
            | "dynamic-analysis-of",
        ) => &["malware"],
        ("threat-actor", "attributed-to" | "impersonates") => &["identity"],
        ("threat-actor", "compromises" | "hosts" | "owns") => &["infrastructure"],
        ("threat-actor", "located-at") => &["location"],
        ("threat-actor", "targets") => &["identity", "location", "vulnerability"],
        ("threat-actor", "uses") => &["attack-pattern", "infrastructure", "malware", "tool"],
        ("tool", "delivers" | "drops") => &["malware"],
        ("tool", "has") => &["vulnerability"],
        ("tool", "targets") => &["identity", "infrastructure", "location", "vulnerability"],
        ("tool", "uses") => &["infrastructure"],
        _ => return false,
    };
    targets.contains(&target)
}

// ---------------------------------------------------------------------------------------------------
// Lexical checks
// ---------------------------------------------------------------------------------------------------

/// The JSON kind of a value, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// STIX 2.1 section 3.1: 3-250 characters of a-z, 0-9 and hyphen, starting with a letter, no two
/// hyphens in a row.
fn valid_type_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=250).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bytes.windows(2).any(|pair| pair == b"--")
}

/// STIX 2.1 section 3.1: 3-250 characters of a-z, 0-9 and underscore, starting with a letter.
fn valid_property_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=250).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A predefined or custom extension name: a-z, 0-9 and hyphens ending in `-ext`, at most 250.
fn valid_extension_name(name: &str) -> bool {
    name.len() <= 250
        && name.len() > "-ext".len()
        && name.ends_with("-ext")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Splits `type--UUID` into the type and the UUID version; the reason when it is not one.
fn parse_identifier(id: &str) -> Result<(&str, u8), &'static str> {
    let Some(separator) = id.rfind("--") else {
        return Err("no `--` between type and UUID");
    };
    let (ty, uuid) = (&id[..separator], &id[separator + 2..]);
    if !valid_type_name(ty) {
        return Err("the type part is not a valid type name");
    }
    uuid_version(uuid)
        .ok_or("the UUID part is not an RFC 4122 UUID")
        .map(|version| (ty, version))
}

/// The version of an RFC 4122 UUID in 8-4-4-4-12 hexadecimal form (variant bits `10`, version 1-8).
fn uuid_version(uuid: &str) -> Option<u8> {
    let bytes = uuid.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    for (i, &b) in bytes.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) {
            b == b'-'
        } else {
            b.is_ascii_hexdigit()
        };
        if !ok {
            return None;
        }
    }
    let version = (bytes[14] as char).to_digit(16)? as u8;
    let variant_ok = matches!(bytes[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B');
    ((1..=8).contains(&version) && variant_ok).then_some(version)
}

/// A STIX timestamp, comparable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Instant {
    /// `YYYYMMDDhhmmss` as a number.
    seconds: u64,
    /// The fraction, to the nanosecond.
    nanos: u32,
}

#[derive(Clone, Copy, Debug)]
struct Stamp {
    instant: Instant,
    /// Digits after the decimal point.
    fraction_digits: usize,
}

/// STIX 2.1 section 2.13: RFC 3339 in UTC, `YYYY-MM-DDTHH:mm:ss[.s+]Z`.
fn parse_timestamp(s: &str) -> Option<Stamp> {
    let b = s.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u64> {
        b[range].iter().try_fold(0u64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
        })
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(0..4)?;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let hour = digits(11..13)?;
    let minute = digits(14..16)?;
    let second = digits(17..19)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let fraction = &b[19..b.len() - 1];
    let (nanos, fraction_digits) = match fraction {
        [] => (0, 0),
        [b'.', rest @ ..] if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) => {
            let mut nanos = 0u32;
            for i in 0..9 {
                let digit = rest.get(i).map_or(0, |d| u32::from(d - b'0'));
                nanos = nanos * 10 + digit;
            }
            (nanos, rest.len())
        }
        _ => return None,
    };
    let seconds = ((((year * 100 + month) * 100 + day) * 100 + hour) * 100 + minute) * 100 + second;
    Some(Stamp {
        instant: Instant { seconds, nanos },
        fraction_digits,
    })
}

/// RFC 5646, syntactically: a primary subtag of 2-8 letters (or `x`/`i`), then subtags of 1-8
/// letters and digits.
fn valid_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let Some(primary) = subtags.next() else {
        return false;
    };
    let primary_ok = (primary.len() >= 2 || primary == "x" || primary == "i")
        && primary.len() <= 8
        && primary.bytes().all(|b| b.is_ascii_alphabetic());
    primary_ok
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// RFC 4648 section 4 base64 with padding.
fn valid_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let padding = b.iter().rev().take_while(|&&c| c == b'=').count();
    padding <= 2
        && b[..b.len() - padding]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// STIX 2.1 section 2.8: an even number of the digits 0-9 and the lower-case letters a-f.
fn valid_hex(s: &str) -> bool {
    s.len().is_multiple_of(2)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase, no spaces or underscores (the SHOULD for kill chain names and phases).
fn lowercase_hyphenated(s: &str) -> bool {
    !s.bytes()
        .any(|b| b.is_ascii_uppercase() || b == b' ' || b == b'_')
}

/// `CVE-YYYY-NNNN…`.
fn valid_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `CAPEC-N…`.
fn valid_capec_id(id: &str) -> bool {
    id.strip_prefix("CAPEC-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// An address, optionally followed by `/prefix` of at most `max_prefix` bits.
fn valid_cidr(value: &str, max_prefix: u8, address: impl Fn(&str) -> bool) -> bool {
    match value.split_once('/') {
        None => address(value),
        Some((addr, prefix)) => {
            address(addr)
                && !prefix.is_empty()
                && prefix.len() <= 3
                && prefix.bytes().all(|b| b.is_ascii_digit())
                && prefix.parse::<u8>().is_ok_and(|bits| bits <= max_prefix)
        }
    }
}

/// Follows a granular-marking selector (STIX 2.1 section 7.2.3.1: property names and `[index]`
/// separated by `.`) through the object; why it selects nothing when it does not.
fn resolve_selector(obj: &Map<String, Value>, selector: &str) -> Result<(), &'static str> {
    let mut tokens = selector.split('.');
    let first = tokens.next().unwrap_or_default();
    let mut current = obj.get(first).ok_or("no such property")?;
    for token in tokens {
        current = if let Some(index) = token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let index: usize = index.parse().map_err(|_| "a list index must be a number")?;
            match current {
                Value::Array(items) => items.get(index).ok_or("list index out of range")?,
                _ => return Err("indexes a value that is not a list"),
            }
        } else {
            match current {
                Value::Object(map) => map.get(token).ok_or("no such property")?,
                _ => return Err("names a property of a value that is not an object"),
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const V4: &str = "0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
    const V5: &str = "ff26c055-6336-5bc5-b98d-13d6226742dd";
    const CREATED: &str = "2020-01-01T00:00:00.000Z";
    const MODIFIED: &str = "2021-01-01T00:00:00.000Z";

    fn id(ty: &str) -> String {
        format!("{ty}--{V4}")
    }

    fn sco_id(ty: &str) -> String {
        format!("{ty}--{V5}")
    }

    /// A minimal valid object of each type the specification defines (no errors, no warnings).
    fn valid(ty: &str) -> Value {
        let own = match ty {
            "attack-pattern" | "campaign" | "course-of-action" | "incident" | "infrastructure"
            | "intrusion-set" | "threat-actor" | "tool" | "vulnerability" => json!({"name": "x"}),
            "grouping" => {
                json!({"context": "suspicious-activity", "object_refs": [id("indicator")]})
            }
            "identity" => json!({"name": "ACME", "identity_class": "organization"}),
            "indicator" => json!({"pattern": "[ipv4-addr:value = '198.51.100.1']",
                "pattern_type": "stix", "valid_from": CREATED}),
            "location" => json!({"region": "europe"}),
            "malware" => json!({"is_family": true, "name": "x"}),
            "malware-analysis" => json!({"product": "av", "result": "malicious"}),
            "note" => json!({"content": "x", "object_refs": [id("indicator")]}),
            "observed-data" => json!({"first_observed": CREATED, "last_observed": MODIFIED,
                "number_observed": 1, "object_refs": [sco_id("ipv4-addr")]}),
            "opinion" => json!({"opinion": "agree", "object_refs": [id("indicator")]}),
            "report" => {
                json!({"name": "x", "published": CREATED, "object_refs": [id("indicator")]})
            }
            "relationship" => json!({"relationship_type": "uses", "source_ref": id("malware"),
                "target_ref": id("attack-pattern")}),
            "sighting" => json!({"sighting_of_ref": id("indicator")}),
            "language-content" => json!({"created": CREATED, "modified": MODIFIED,
                "object_ref": id("report"), "contents": {"de": {"name": "Bericht"}}}),
            "marking-definition" => json!({"created": CREATED, "definition_type": "statement",
                "definition": {"statement": "Copyright ACME"}}),
            "extension-definition" => json!({"created": CREATED, "modified": MODIFIED,
                "created_by_ref": id("identity"), "name": "x", "schema": "https://example.com/s",
                "version": "1.0", "extension_types": ["property-extension"]}),
            "artifact" => json!({"payload_bin": "aGVsbG8="}),
            "autonomous-system" => json!({"number": 15139}),
            "directory" => json!({"path": "/tmp"}),
            "domain-name" => json!({"value": "example.com"}),
            "email-addr" => json!({"value": "a@example.com"}),
            "email-message" => json!({"is_multipart": false, "body": "hi"}),
            "file" => json!({"name": "a.exe"}),
            "ipv4-addr" => json!({"value": "198.51.100.3"}),
            "ipv6-addr" => json!({"value": "2001:db8::1/64"}),
            "mac-addr" => json!({"value": "d2:fb:49:24:37:18"}),
            "mutex" => json!({"name": "__CLEANSWEEP__"}),
            "network-traffic" => json!({"src_ref": sco_id("ipv4-addr"), "protocols": ["tcp"]}),
            "process" => json!({"pid": 1221}),
            "software" => json!({"name": "Word"}),
            "url" => json!({"value": "https://example.com/"}),
            "user-account" => json!({"user_id": "1001"}),
            "windows-registry-key" => json!({"key": "HKEY_LOCAL_MACHINE\\System"}),
            "x509-certificate" => json!({"serial_number": "36:f7:d4:32"}),
            other => panic!("no example for {other}"),
        };
        let category = type_spec(ty).unwrap().category;
        let mut object = match category {
            Category::Sco => json!({"type": ty, "spec_version": "2.1",
                "id": if ty == "process" { id(ty) } else { sco_id(ty) }}),
            Category::Meta => json!({"type": ty, "spec_version": "2.1", "id": id(ty)}),
            _ => json!({"type": ty, "spec_version": "2.1", "id": id(ty),
                "created": CREATED, "modified": MODIFIED}),
        };
        for (k, v) in own.as_object().unwrap() {
            object[k] = v.clone();
        }
        object
    }

    const ALL_TYPES: &[&str] = &[
        "attack-pattern",
        "campaign",
        "course-of-action",
        "grouping",
        "identity",
        "incident",
        "indicator",
        "infrastructure",
        "intrusion-set",
        "location",
        "malware",
        "malware-analysis",
        "note",
        "observed-data",
        "opinion",
        "report",
        "threat-actor",
        "tool",
        "vulnerability",
        "relationship",
        "sighting",
        "language-content",
        "marking-definition",
        "extension-definition",
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    ];

    fn with(mut object: Value, key: &str, value: Value) -> Value {
        object[key] = value;
        object
    }

    fn without(mut object: Value, key: &str) -> Value {
        object.as_object_mut().unwrap().remove(key);
        object
    }

    #[track_caller]
    fn assert_valid(object: &Value) {
        let verdict = validate(object);
        assert!(
            verdict.is_valid(),
            "unexpected errors for {object}: {:#?}",
            verdict.errors
        );
    }

    #[track_caller]
    fn assert_clean(object: &Value) {
        let verdict = validate(object);
        assert_eq!(
            verdict,
            Verdict::default(),
            "expected no reasons for {object}"
        );
    }

    #[track_caller]
    fn assert_error(object: &Value, code: &str, property: &str) {
        let verdict = validate(object);
        assert!(
            verdict
                .errors
                .iter()
                .any(|r| r.code == code && r.property == property),
            "expected error {code} at {property:?} for {object}, got {:#?}",
            verdict.errors
        );
    }

    #[track_caller]
    fn assert_warning(object: &Value, code: &str, property: &str) {
        let verdict = validate(object);
        assert!(
            verdict
                .warnings
                .iter()
                .any(|r| r.code == code && r.property == property),
            "expected warning {code} at {property:?} for {object}, got {:#?}",
            verdict.warnings
        );
    }

    #[track_caller]
    fn assert_no_warning(object: &Value, code: &str) {
        let verdict = validate(object);
        assert!(
            !verdict.warnings.iter().any(|r| r.code == code),
            "unexpected warning {code} for {object}: {:#?}",
            verdict.warnings
        );
    }

    // -- whole objects and common properties ---------------------------------------------------------

    #[test]
    fn every_type_has_a_clean_example_and_its_required_properties_are_enforced() {
        for ty in ALL_TYPES {
            let object = valid(ty);
            assert_clean(&object);
            let spec = type_spec(ty).unwrap();
            for name in category_required(spec.category).iter().chain(spec.required) {
                assert_error(&without(object.clone(), name), "missing_property", name);
            }
        }
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        let verdict = validate(&json!([1, 2]));
        assert_eq!(verdict.errors[0].code, "not_an_object");
        assert!(!verdict.is_valid());
    }

    #[test]
    fn type_must_be_a_string_and_custom_types_follow_the_naming_rule() {
        assert_error(
            &with(valid("tool"), "type", json!(7)),
            "invalid_type",
            "type",
        );
        let custom = json!({"type": "x-acme-widget", "id": id("x-acme-widget")});
        assert_clean(&custom);
        for bad in ["X-Acme", "x--acme", "xy", "1-acme", "x_acme"] {
            let object = json!({"type": bad, "id": format!("{bad}--{V4}")});
            assert_error(&object, "invalid_custom_type_name", "type");
        }
        let unprefixed = json!({"type": "acme-widget", "id": id("acme-widget")});
        assert_valid(&unprefixed);
        assert_warning(&unprefixed, "custom_type_prefix", "type");
    }

    #[test]
    fn id_is_type_then_rfc_4122_uuid() {
        assert_valid(&valid("tool"));
        let bad_ids = [
            format!("malware--{V4}"),
            "tool--1".to_owned(),
            "tool-0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061".to_owned(),
            "tool--0c7b5b88-8ff7-4a4d-7a9d-feb398cd0061".to_owned(), // variant bits
            "tool--0c7b5b88-8ff7-0a4d-aa9d-feb398cd0061".to_owned(), // version 0
            "tool--0c7b5b888ff7-4a4d-aa9d-feb398cd0061-".to_owned(),
        ];
        for bad in bad_ids {
            assert_error(&with(valid("tool"), "id", json!(bad)), "invalid_id", "id");
        }
        assert_error(&with(valid("tool"), "id", json!(1)), "invalid_type", "id");
    }

    #[test]
    fn uuid_version_should_be_4_for_sdos_and_5_for_scos() {
        let v5_tool = with(valid("tool"), "id", json!(sco_id("tool")));
        assert_valid(&v5_tool);
        assert_warning(&v5_tool, "uuid_version", "id");
        let v4_url = with(valid("url"), "id", json!(id("url")));
        assert_valid(&v4_url);
        assert_warning(&v4_url, "uuid_version", "id");
        assert_no_warning(&valid("process"), "uuid_version");
    }

    #[test]
    fn spec_version_is_2_1_and_optional_on_scos() {
        assert_error(
            &with(valid("tool"), "spec_version", json!("2.0")),
            "invalid_value",
            "spec_version",
        );
        assert_error(
            &with(valid("tool"), "spec_version", json!(2.1)),
            "invalid_type",
            "spec_version",
        );
        assert_clean(&without(valid("url"), "spec_version"));
        assert_error(
            &with(valid("url"), "spec_version", json!("2.0")),
            "invalid_value",
            "spec_version",
        );
    }

    #[test]
    fn timestamps_are_rfc_3339_utc() {
        for good in [
            "2020-02-29T23:59:60Z",
            "2020-01-01T00:00:00.1Z",
            "2020-01-01T00:00:00.123456789123Z",
        ] {
            assert!(parse_timestamp(good).is_some(), "{good}");
        }
        for bad in [
            "2020-01-01",
            "2020-01-01T00:00:00",
            "2020-01-01T00:00:00+00:00",
            "2021-02-29T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:00.Z",
            "2020-01-01 00:00:00Z",
            "2020-01-01T00:00:00z",
            "２020-01-01T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
            assert_error(
                &with(valid("tool"), "created", json!(bad)),
                "invalid_timestamp",
                "created",
            );
        }
    }

    #[test]
    fn modified_must_not_precede_created() {
        assert_valid(&with(valid("tool"), "modified", json!(CREATED)));
        let earlier = with(valid("tool"), "modified", json!("2019-12-31T23:59:59.999Z"));
        assert_error(&earlier, "modified_before_created", "modified");
        // Fractions compare as numbers, not as text.
        let object = with(valid("tool"), "created", json!("2020-01-01T00:00:00.5Z"));
        let object = with(object, "modified", json!("2020-01-01T00:00:00.499Z"));
        assert_error(&object, "modified_before_created", "modified");
    }

    #[test]
    fn created_and_modified_should_have_millisecond_precision() {
        let coarse = with(valid("tool"), "created", json!("2020-01-01T00:00:00Z"));
        assert_valid(&coarse);
        assert_warning(&coarse, "timestamp_precision", "created");
        assert_no_warning(
            &with(
                valid("tool"),
                "created",
                json!("2020-01-01T00:00:00.000001Z"),
            ),
            "timestamp_precision",
        );
    }

    #[test]
    fn created_by_ref_is_an_identity() {
        assert_clean(&with(
            valid("tool"),
            "created_by_ref",
            json!(id("identity")),
        ));
        assert_error(
            &with(valid("tool"), "created_by_ref", json!(id("malware"))),
            "invalid_reference",
            "created_by_ref",
        );
        assert_error(
            &with(valid("tool"), "created_by_ref", json!("identity--x")),
            "invalid_reference",
            "created_by_ref",
        );
    }

    #[test]
    fn revoked_labels_confidence_and_lang() {
        let good = with(valid("tool"), "revoked", json!(false));
        let good = with(good, "labels", json!(["a"]));
        let good = with(good, "confidence", json!(100));
        let good = with(good, "lang", json!("zh-Hant-TW"));
        assert_clean(&good);
        assert_error(
            &with(valid("tool"), "revoked", json!("no")),
            "invalid_type",
            "revoked",
        );
        assert_error(
            &with(valid("tool"), "labels", json!([])),
            "invalid_value",
            "labels",
        );
        assert_error(
            &with(valid("tool"), "labels", json!(["a", 1])),
            "invalid_type",
            "labels[1]",
        );
        assert_error(
            &with(valid("tool"), "confidence", json!(101)),
            "out_of_range",
            "confidence",
        );
        assert_error(
            &with(valid("tool"), "confidence", json!(-1)),
            "out_of_range",
            "confidence",
        );
        assert_error(
            &with(valid("tool"), "confidence", json!(50.5)),
            "invalid_type",
            "confidence",
        );
        assert_error(
            &with(valid("tool"), "lang", json!("en_US")),
            "invalid_value",
            "lang",
        );
        assert_error(
            &with(valid("tool"), "lang", json!("")),
            "invalid_value",
            "lang",
        );
    }

    #[test]
    fn external_references_need_source_name_and_one_more_property() {
        let good = json!([{"source_name": "cve", "external_id": "CVE-2016-1234"},
            {"source_name": "capec", "external_id": "CAPEC-163"},
            {"source_name": "acme", "url": "https://example.com", "hashes": {"SHA-256":
                "6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}},
            {"source_name": "acme", "description": "d"}]);
        assert_clean(&with(valid("tool"), "external_references", good));
        let cases = [
            (
                json!([{"description": "d"}]),
                "external_references[0].source_name",
            ),
            (json!([{"source_name": "acme"}]), "external_references[0]"),
            (
                json!([{"source_name": "cve", "external_id": "2016-1234"}]),
                "external_references[0].external_id",
            ),
            (
                json!([{"source_name": "capec", "external_id": "CAPEC-"}]),
                "external_references[0].external_id",
            ),
            (json!(["acme"]), "external_references[0]"),
        ];
        for (references, property) in cases {
            let object = with(valid("tool"), "external_references", references);
            assert_error(&object, "invalid_external_reference", property);
        }
        let bad_hash = json!([{"source_name": "a", "url": "u", "hashes": {"MD5": "zz"}}]);
        assert_error(
            &with(valid("tool"), "external_references", bad_hash),
            "invalid_value",
            "external_references[0].hashes.MD5",
        );
    }

    #[test]
    fn object_marking_refs_are_marking_definitions() {
        let tlp = json!(["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]);
        assert_clean(&with(valid("tool"), "object_marking_refs", tlp));
        let wrong = json!([id("identity")]);
        assert_error(
            &with(valid("tool"), "object_marking_refs", wrong),
            "invalid_reference",
            "object_marking_refs[0]",
        );
    }

    #[test]
    fn granular_markings_have_selectors_and_one_of_marking_ref_or_lang() {
        let object = with(valid("tool"), "description", json!("d"));
        let object = with(
            object,
            "kill_chain_phases",
            json!([{"kill_chain_name": "k", "phase_name": "p"}]),
        );
        let good = json!([
            {"selectors": ["description", "kill_chain_phases.[0].phase_name"], "marking_ref": id("marking-definition")},
            {"selectors": ["name"], "lang": "en"}]);
        assert_clean(&with(object.clone(), "granular_markings", good));
        let cases = [
            (
                json!([{"selectors": ["name"]}]),
                "invalid_granular_marking",
                "granular_markings[0]",
            ),
            (
                json!([{"selectors": ["name"], "lang": "en", "marking_ref": id("marking-definition")}]),
                "invalid_granular_marking",
                "granular_markings[0]",
            ),
            (
                json!([{"lang": "en"}]),
                "invalid_granular_marking",
                "granular_markings[0].selectors",
            ),
            (
                json!([{"selectors": [], "lang": "en"}]),
                "invalid_value",
                "granular_markings[0].selectors",
            ),
            (
                json!([{"selectors": ["labels"], "lang": "en"}]),
                "invalid_selector",
                "granular_markings[0].selectors[0]",
            ),
            (
                json!([{"selectors": ["kill_chain_phases.[1].phase_name"], "lang": "en"}]),
                "invalid_selector",
                "granular_markings[0].selectors[0]",
            ),
            (
                json!([{"selectors": ["name.[0]"], "lang": "en"}]),
                "invalid_selector",
                "granular_markings[0].selectors[0]",
            ),
            (
                json!([{"selectors": ["kill_chain_phases.[x]"], "lang": "en"}]),
                "invalid_selector",
                "granular_markings[0].selectors[0]",
            ),
            (
                json!([{"selectors": ["name"], "marking_ref": id("identity")}]),
                "invalid_reference",
                "granular_markings[0].marking_ref",
            ),
        ];
        for (markings, code, property) in cases {
            assert_error(
                &with(object.clone(), "granular_markings", markings),
                code,
                property,
            );
        }
    }

    #[test]
    fn extensions_are_definition_ids_or_ext_names_holding_objects() {
        let definition = format!("extension-definition--{V4}");
        let good = json!({definition.clone(): {"extension_type": "property-extension", "rank": 5}});
        assert_clean(&with(valid("tool"), "extensions", good));
        assert_error(
            &with(valid("tool"), "extensions", json!({})),
            "invalid_extension",
            "extensions",
        );
        assert_error(
            &with(valid("tool"), "extensions", json!({"acme": {"a": 1}})),
            "invalid_extension",
            "extensions.acme",
        );
        assert_error(
            &with(
                valid("tool"),
                "extensions",
                json!({"extension-definition--1": {"a": 1}}),
            ),
            "invalid_extension",
            "extensions.extension-definition--1",
        );
        assert_error(
            &with(
                valid("tool"),
                "extensions",
                json!({definition.clone(): "x"}),
            ),
            "invalid_extension",
            &format!("extensions.{definition}"),
        );
        assert_error(
            &with(valid("tool"), "extensions", json!({definition.clone(): {}})),
            "invalid_extension",
            &format!("extensions.{definition}"),
        );
        assert_error(
            &with(
                valid("tool"),
                "extensions",
                json!({definition.clone(): {"extension_type": "new-thing"}}),
            ),
            "not_in_enum",
            &format!("extensions.{definition}.extension_type"),
        );
        let legacy = with(valid("file"), "extensions", json!({"acme-ext": {"a": 1}}));
        assert_valid(&legacy);
        assert_warning(&legacy, "custom_extension_prefix", "extensions.acme-ext");
        assert_no_warning(
            &with(valid("file"), "extensions", json!({"x-acme-ext": {"a": 1}})),
            "custom_extension_prefix",
        );
    }

    #[test]
    fn custom_property_names_follow_the_naming_rule_and_should_start_with_x() {
        assert_clean(&with(valid("tool"), "x_acme_score", json!(3)));
        for bad in ["X_acme", "x-acme", "xa", "_acme", "x_acmé"] {
            assert_error(
                &with(valid("tool"), bad, json!(1)),
                "invalid_custom_property_name",
                bad,
            );
        }
        let unprefixed = with(valid("tool"), "acme_score", json!(1));
        assert_valid(&unprefixed);
        assert_warning(&unprefixed, "custom_property_prefix", "acme_score");
        // A toplevel-property-extension adds unprefixed properties on purpose.
        let extended = with(
            unprefixed,
            "extensions",
            json!({format!("extension-definition--{V4}"): {"extension_type": "toplevel-property-extension"}}),
        );
        assert_clean(&extended);
        // Custom objects name their own properties.
        let custom =
            json!({"type": "x-acme", "id": id("x-acme"), "tactic_refs": [id("x-acme")], "Bad": 1});
        assert_no_warning(&custom, "custom_property_prefix");
        assert_error(&custom, "invalid_custom_property_name", "Bad");
    }

    #[test]
    fn custom_objects_get_their_common_properties_checked() {
        let custom = json!({"type": "x-acme-thing", "spec_version": "2.1", "id": id("x-acme-thing"),
            "created": CREATED, "modified": MODIFIED, "name": "anything", "x_acme": []});
        assert_clean(&custom);
        assert_error(
            &with(
                custom.clone(),
                "modified",
                json!("2000-01-01T00:00:00.000Z"),
            ),
            "modified_before_created",
            "modified",
        );
        assert_error(
            &with(custom.clone(), "created_by_ref", json!(id("tool"))),
            "invalid_reference",
            "created_by_ref",
        );
        assert_error(
            &with(custom.clone(), "confidence", json!(300)),
            "out_of_range",
            "confidence",
        );
        assert_error(
            &with(custom, "id", json!(id("x-other"))),
            "invalid_id",
            "id",
        );
    }

    // -- SDO rules -------------------------------------------------------------------------------------

    #[test]
    fn kill_chain_phases_have_string_name_and_phase() {
        let good = json!([{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "reconnaissance"}]);
        assert_clean(&with(valid("attack-pattern"), "kill_chain_phases", good));
        let cases = [
            (
                json!([{"kill_chain_name": "k"}]),
                "kill_chain_phases[0].phase_name",
            ),
            (
                json!([{"phase_name": "p", "kill_chain_name": 3}]),
                "kill_chain_phases[0].kill_chain_name",
            ),
            (json!(["k:p"]), "kill_chain_phases[0]"),
        ];
        for (phases, property) in cases {
            assert_error(
                &with(valid("attack-pattern"), "kill_chain_phases", phases),
                "invalid_kill_chain_phase",
                property,
            );
        }
        let shouting = with(
            valid("tool"),
            "kill_chain_phases",
            json!([{"kill_chain_name": "Kill Chain", "phase_name": "p"}]),
        );
        assert_valid(&shouting);
        assert_warning(
            &shouting,
            "kill_chain_phase_format",
            "kill_chain_phases[0].kill_chain_name",
        );
    }

    #[test]
    fn open_vocabularies_warn_and_enumerations_refuse() {
        let indicator = with(
            valid("indicator"),
            "indicator_types",
            json!(["malicious-activity", "spooky"]),
        );
        assert_valid(&indicator);
        assert_warning(&indicator, "open_vocabulary", "indicator_types[1]");
        let yara = with(valid("indicator"), "pattern_type", json!("yara-ish"));
        assert_warning(&yara, "open_vocabulary", "pattern_type");
        assert_warning(
            &with(valid("identity"), "sectors", json!(["space"])),
            "open_vocabulary",
            "sectors[0]",
        );
        assert_warning(
            &with(valid("malware"), "capabilities", json!(["flies"])),
            "open_vocabulary",
            "capabilities[0]",
        );
        assert_warning(
            &with(valid("threat-actor"), "sophistication", json!("l33t")),
            "open_vocabulary",
            "sophistication",
        );
        assert_error(
            &with(valid("opinion"), "opinion", json!("maybe")),
            "not_in_enum",
            "opinion",
        );
        assert_error(
            &with(valid("grouping"), "context", json!(["suspicious-activity"])),
            "invalid_type",
            "context",
        );
    }

    #[test]
    fn first_seen_must_not_follow_last_seen() {
        for ty in [
            "campaign",
            "intrusion-set",
            "threat-actor",
            "infrastructure",
            "malware",
            "sighting",
        ] {
            let object = with(valid(ty), "first_seen", json!(CREATED));
            assert_clean(&with(object.clone(), "last_seen", json!(CREATED)));
            let object = with(object, "last_seen", json!("2019-01-01T00:00:00.000Z"));
            assert_error(&object, "first_seen_after_last_seen", "last_seen");
        }
    }

    #[test]
    fn indicator_valid_until_must_be_after_valid_from() {
        assert_clean(&with(valid("indicator"), "valid_until", json!(MODIFIED)));
        let same = with(valid("indicator"), "valid_until", json!(CREATED));
        assert_error(&same, "valid_until_before_valid_from", "valid_until");
    }

    #[test]
    fn indicator_stix_patterns_must_parse() {
        let broken = with(valid("indicator"), "pattern", json!("[ipv4-addr:value = "));
        assert_error(&broken, "invalid_pattern", "pattern");
        let other_language = with(broken, "pattern_type", json!("snort"));
        assert_clean(&other_language);
        // STIX 2.1 section 9.5.1: REPEATS and WITHIN take positive values.
        for qualified in [
            "[ipv4-addr:value = '198.51.100.1'] REPEATS 0 TIMES",
            "[ipv4-addr:value = '198.51.100.1'] WITHIN 0 SECONDS",
        ] {
            let object = with(valid("indicator"), "pattern", json!(qualified));
            assert_error(&object, "invalid_pattern", "pattern");
        }
    }

    #[test]
    fn relationship_rules() {
        let good = with(valid("relationship"), "start_time", json!(CREATED));
        assert_clean(&with(good.clone(), "stop_time", json!(MODIFIED)));
        assert_error(
            &with(good, "stop_time", json!(CREATED)),
            "stop_time_before_start_time",
            "stop_time",
        );
        assert_error(
            &with(valid("relationship"), "relationship_type", json!("Uses")),
            "invalid_value",
            "relationship_type",
        );
        assert_error(
            &with(
                valid("relationship"),
                "source_ref",
                json!(id("marking-definition")),
            ),
            "invalid_reference",
            "source_ref",
        );
        assert_error(
            &with(
                valid("relationship"),
                "target_ref",
                json!(id("relationship")),
            ),
            "invalid_reference",
            "target_ref",
        );
        let odd = with(
            valid("relationship"),
            "relationship_type",
            json!("revoked-by"),
        );
        assert_valid(&odd);
        assert_warning(&odd, "relationship_type_not_in_spec", "relationship_type");
        let reversed = with(
            valid("relationship"),
            "source_ref",
            json!(id("attack-pattern")),
        );
        let reversed = with(reversed, "target_ref", json!(id("malware")));
        assert_clean(&reversed); // attack-pattern uses malware
        assert_clean(&with(
            valid("relationship"),
            "relationship_type",
            json!("related-to"),
        ));
        let to_custom = with(
            valid("relationship"),
            "target_ref",
            json!(id("x-mitre-asset")),
        );
        assert_clean(&with(to_custom, "relationship_type", json!("targets")));
        let consists = json!({"relationship_type": "consists-of", "source_ref": id("infrastructure"), "target_ref": sco_id("url")});
        let mut consists_obj = valid("relationship");
        for (k, v) in consists.as_object().unwrap() {
            consists_obj[k] = v.clone();
        }
        assert_clean(&consists_obj);
    }

    #[test]
    fn sighting_rules() {
        let good = with(valid("sighting"), "count", json!(0));
        let good = with(good, "observed_data_refs", json!([id("observed-data")]));
        let good = with(
            good,
            "where_sighted_refs",
            json!([id("identity"), id("location")]),
        );
        assert_clean(&good);
        assert_error(
            &with(valid("sighting"), "count", json!(1_000_000_000)),
            "out_of_range",
            "count",
        );
        assert_error(
            &with(valid("sighting"), "sighting_of_ref", json!(sco_id("file"))),
            "invalid_reference",
            "sighting_of_ref",
        );
        assert_error(
            &with(
                valid("sighting"),
                "where_sighted_refs",
                json!([id("malware")]),
            ),
            "invalid_reference",
            "where_sighted_refs[0]",
        );
        assert_error(
            &with(
                valid("sighting"),
                "observed_data_refs",
                json!([id("report")]),
            ),
            "invalid_reference",
            "observed_data_refs[0]",
        );
    }

    #[test]
    fn observed_data_rules() {
        assert_error(
            &with(valid("observed-data"), "number_observed", json!(0)),
            "out_of_range",
            "number_observed",
        );
        assert_error(
            &with(
                valid("observed-data"),
                "number_observed",
                json!(1_000_000_000u64),
            ),
            "out_of_range",
            "number_observed",
        );
        assert_error(
            &with(
                valid("observed-data"),
                "last_observed",
                json!("2019-01-01T00:00:00.000Z"),
            ),
            "last_observed_before_first_observed",
            "last_observed",
        );
        assert_error(
            &with(
                valid("observed-data"),
                "object_refs",
                json!([id("malware")]),
            ),
            "invalid_reference",
            "object_refs[0]",
        );
        assert_error(
            &without(valid("observed-data"), "object_refs"),
            "missing_property",
            "object_refs",
        );
        let legacy = without(valid("observed-data"), "object_refs");
        let legacy = with(
            legacy,
            "objects",
            json!({"0": {"type": "ipv4-addr", "value": "198.51.100.3"}}),
        );
        assert_valid(&legacy);
        assert_warning(&legacy, "deprecated_property", "objects");
        let both = with(legacy, "object_refs", json!([sco_id("ipv4-addr")]));
        assert_error(&both, "invalid_value", "objects");
    }

    #[test]
    fn location_rules() {
        let point = without(valid("location"), "region");
        let point = with(point, "latitude", json!(48.8566));
        let point = with(point, "longitude", json!(2.3522));
        assert_clean(&with(point.clone(), "precision", json!(1000.0)));
        assert_error(
            &without(point.clone(), "longitude"),
            "missing_property",
            "longitude",
        );
        assert_error(
            &with(point.clone(), "latitude", json!(91)),
            "out_of_range",
            "latitude",
        );
        assert_error(
            &with(point.clone(), "longitude", json!(-180.5)),
            "out_of_range",
            "longitude",
        );
        let imprecise = with(valid("location"), "precision", json!(10));
        assert_error(&imprecise, "missing_property", "latitude");
        let nowhere = with(without(valid("location"), "region"), "city", json!("Paris"));
        assert_error(&nowhere, "missing_property", "region");
        let country = with(valid("location"), "country", json!("France"));
        assert_valid(&country);
        assert_warning(&country, "country_code", "country");
    }

    #[test]
    fn malware_families_need_names_and_refs_have_types() {
        assert_clean(&without(
            with(valid("malware"), "is_family", json!(false)),
            "name",
        ));
        assert_error(
            &without(valid("malware"), "name"),
            "missing_property",
            "name",
        );
        assert_error(
            &with(valid("malware"), "is_family", json!("yes")),
            "invalid_type",
            "is_family",
        );
        assert_error(
            &with(valid("malware"), "sample_refs", json!([sco_id("url")])),
            "invalid_reference",
            "sample_refs[0]",
        );
        assert_error(
            &with(
                valid("malware"),
                "operating_system_refs",
                json!([sco_id("file")]),
            ),
            "invalid_reference",
            "operating_system_refs[0]",
        );
    }

    #[test]
    fn malware_analysis_needs_result_or_sco_refs() {
        let by_refs = with(
            without(valid("malware-analysis"), "result"),
            "analysis_sco_refs",
            json!([sco_id("file")]),
        );
        assert_clean(&by_refs);
        assert_error(
            &without(valid("malware-analysis"), "result"),
            "missing_property",
            "result",
        );
        assert_error(
            &with(by_refs, "analysis_sco_refs", json!([id("malware")])),
            "invalid_reference",
            "analysis_sco_refs[0]",
        );
    }

    #[test]
    fn marking_definition_rules() {
        let tlp = json!({"type": "marking-definition", "spec_version": "2.1",
            "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp", "name": "TLP:GREEN", "definition": {"tlp": "green"}});
        assert_clean(&tlp);
        assert_error(
            &with(tlp.clone(), "definition", json!({"tlp": "purple"})),
            "not_in_enum",
            "definition.tlp",
        );
        assert_error(
            &with(
                valid("marking-definition"),
                "definition",
                json!({"text": "x"}),
            ),
            "missing_property",
            "definition.statement",
        );
        assert_error(
            &without(valid("marking-definition"), "definition"),
            "missing_property",
            "definition",
        );
        let own = id("marking-definition");
        assert_error(
            &with(
                valid("marking-definition"),
                "object_marking_refs",
                json!([own.clone()]),
            ),
            "invalid_reference",
            "object_marking_refs[0]",
        );
        assert_error(
            &with(
                valid("marking-definition"),
                "granular_markings",
                json!([{"selectors": ["definition"], "marking_ref": own}]),
            ),
            "invalid_reference",
            "granular_markings[0].marking_ref",
        );
        let custom_kind = with(
            valid("marking-definition"),
            "definition_type",
            json!("acme"),
        );
        assert_valid(&custom_kind);
        assert_warning(&custom_kind, "open_vocabulary", "definition_type");
        // TLP 2.0: the marking is an extension, without definition_type or definition.
        let tlp2 = json!({"type": "marking-definition", "spec_version": "2.1",
            "id": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:GREEN", "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
                {"extension_type": "property-extension", "tlp_2_0": "green"}}});
        assert_clean(&tlp2);
    }

    #[test]
    fn extension_definition_rules() {
        let toplevel = with(
            valid("extension-definition"),
            "extension_types",
            json!(["toplevel-property-extension"]),
        );
        assert_clean(&with(toplevel, "extension_properties", json!(["rank"])));
        assert_error(
            &with(
                valid("extension-definition"),
                "extension_properties",
                json!(["rank"]),
            ),
            "invalid_value",
            "extension_properties",
        );
        assert_error(
            &with(
                valid("extension-definition"),
                "extension_types",
                json!(["new-thing"]),
            ),
            "not_in_enum",
            "extension_types[0]",
        );
        assert_error(
            &with(valid("extension-definition"), "extension_types", json!([])),
            "invalid_value",
            "extension_types",
        );
    }

    #[test]
    fn language_content_rules() {
        assert_error(
            &with(
                valid("language-content"),
                "contents",
                json!({"de_DE": {"name": "x"}}),
            ),
            "invalid_value",
            "contents.de_DE",
        );
        assert_error(
            &with(valid("language-content"), "contents", json!({"de": "x"})),
            "invalid_type",
            "contents.de",
        );
        assert_error(
            &with(valid("language-content"), "contents", json!({})),
            "invalid_value",
            "contents",
        );
        assert_error(
            &with(valid("language-content"), "object_modified", json!("now")),
            "invalid_timestamp",
            "object_modified",
        );
    }

    #[test]
    fn note_report_and_grouping_refs_are_lists_of_identifiers() {
        for ty in ["note", "report", "grouping", "opinion"] {
            assert_error(
                &with(valid(ty), "object_refs", json!([])),
                "invalid_value",
                "object_refs",
            );
            assert_error(
                &with(valid(ty), "object_refs", json!(["nope"])),
                "invalid_reference",
                "object_refs[0]",
            );
        }
        assert_error(
            &with(valid("report"), "published", json!(1)),
            "invalid_type",
            "published",
        );
    }

    // -- SCO rules -------------------------------------------------------------------------------------

    #[test]
    fn artifact_rules() {
        let by_url = json!({"url": "https://example.com/a.bin", "hashes": {"SHA-256":
            "6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}});
        let mut remote = without(valid("artifact"), "payload_bin");
        for (k, v) in by_url.as_object().unwrap() {
            remote[k] = v.clone();
        }
        assert_clean(&remote);
        assert_error(
            &without(remote.clone(), "hashes"),
            "missing_property",
            "hashes",
        );
        assert_error(
            &with(remote, "payload_bin", json!("aGVsbG8=")),
            "invalid_value",
            "url",
        );
        assert_error(
            &without(valid("artifact"), "payload_bin"),
            "missing_property",
            "payload_bin",
        );
        assert_error(
            &with(valid("artifact"), "payload_bin", json!("not base64!")),
            "invalid_value",
            "payload_bin",
        );
        assert_error(
            &with(valid("artifact"), "encryption_algorithm", json!("ROT13")),
            "not_in_enum",
            "encryption_algorithm",
        );
        assert_error(
            &with(valid("artifact"), "decryption_key", json!("k")),
            "missing_property",
            "encryption_algorithm",
        );
    }

    #[test]
    fn hashes_rules() {
        let good = json!({"MD5": "3773a88f65a5e780c8dff9cdc3a056f3", "SHA-1": "7f0b3ba5d2a1bb2b8c24ae3bdf3ba9e6f0e6fa1d",
            "SSDEEP": "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C", "x_custom": "abc"});
        assert_clean(&with(valid("file"), "hashes", good));
        assert_error(
            &with(valid("file"), "hashes", json!({"SHA-256": "abc"})),
            "invalid_value",
            "hashes.SHA-256",
        );
        assert_error(
            &with(valid("file"), "hashes", json!({})),
            "invalid_value",
            "hashes",
        );
        assert_error(
            &with(valid("file"), "hashes", json!({"md": "ab"})),
            "invalid_value",
            "hashes.md",
        );
        assert_error(
            &with(valid("file"), "hashes", json!({"MD5": 5})),
            "invalid_type",
            "hashes.MD5",
        );
        let unusual = with(valid("file"), "hashes", json!({"sha256": "ab"}));
        assert_valid(&unusual);
        assert_warning(&unusual, "open_vocabulary", "hashes.sha256");
    }

    #[test]
    fn file_needs_hashes_or_name_and_checks_its_extensions() {
        assert_error(
            &without(valid("file"), "name"),
            "missing_property",
            "hashes",
        );
        assert_error(
            &with(valid("file"), "size", json!(-1)),
            "out_of_range",
            "size",
        );
        assert_error(
            &with(valid("file"), "magic_number_hex", json!("abc")),
            "invalid_value",
            "magic_number_hex",
        );
        assert_error(
            &with(valid("file"), "parent_directory_ref", json!(sco_id("file"))),
            "invalid_reference",
            "parent_directory_ref",
        );
        let archive = with(
            valid("file"),
            "extensions",
            json!({"archive-ext": {"contains_refs": [sco_id("file")]}}),
        );
        assert_clean(&archive);
        assert_error(
            &with(
                valid("file"),
                "extensions",
                json!({"archive-ext": {"comment": "c"}}),
            ),
            "missing_property",
            "extensions.archive-ext.contains_refs",
        );
        assert_error(
            &with(
                valid("file"),
                "extensions",
                json!({"windows-pebinary-ext": {"pe_type": "exe", "sections": [{"size": 1}]}}),
            ),
            "missing_property",
            "extensions.windows-pebinary-ext.sections[0].name",
        );
        assert_error(
            &with(
                valid("file"),
                "extensions",
                json!({"ntfs-ext": {"alternate_data_streams": [{"name": "s", "size": "big"}]}}),
            ),
            "invalid_type",
            "extensions.ntfs-ext.alternate_data_streams[0].size",
        );
    }

    #[test]
    fn email_message_body_follows_is_multipart() {
        assert_error(
            &with(valid("email-message"), "is_multipart", json!(true)),
            "invalid_value",
            "body",
        );
        let multipart = with(
            without(valid("email-message"), "body"),
            "is_multipart",
            json!(true),
        );
        // `subject`: an ID Contributing Property, so the UUIDv5 of `id` is in order.
        let multipart = with(multipart, "subject", json!("s"));
        let multipart = with(
            multipart,
            "body_multipart",
            json!([{"body": "hi"}, {"body_raw_ref": sco_id("artifact")}]),
        );
        assert_clean(&multipart);
        assert_error(
            &with(multipart.clone(), "is_multipart", json!(false)),
            "invalid_value",
            "body_multipart",
        );
        assert_error(
            &with(
                multipart.clone(),
                "body_multipart",
                json!([{"content_type": "text/plain"}]),
            ),
            "invalid_value",
            "body_multipart[0]",
        );
        assert_error(
            &with(
                multipart,
                "body_multipart",
                json!([{"body_raw_ref": sco_id("url")}]),
            ),
            "invalid_reference",
            "body_multipart[0].body_raw_ref",
        );
        assert_error(
            &with(
                valid("email-message"),
                "to_refs",
                json!([sco_id("user-account")]),
            ),
            "invalid_reference",
            "to_refs[0]",
        );
        assert_error(
            &with(
                valid("email-message"),
                "additional_header_fields",
                json!({"X Mailer": "m"}),
            ),
            "invalid_value",
            "additional_header_fields.X Mailer",
        );
    }

    #[test]
    fn address_values_are_well_formed() {
        assert_clean(&with(valid("ipv4-addr"), "value", json!("198.51.100.0/24")));
        for bad in [
            "198.51.100",
            "198.51.100.0/33",
            "example.com",
            "198.51.100.1/",
        ] {
            assert_error(
                &with(valid("ipv4-addr"), "value", json!(bad)),
                "invalid_value",
                "value",
            );
        }
        assert_clean(&with(valid("ipv6-addr"), "value", json!("::1")));
        assert_error(
            &with(valid("ipv6-addr"), "value", json!("2001:db8::1/129")),
            "invalid_value",
            "value",
        );
        assert_error(
            &with(valid("ipv6-addr"), "value", json!("198.51.100.3")),
            "invalid_value",
            "value",
        );
        for bad in [
            "D2:FB:49:24:37:18",
            "d2-fb-49-24-37-18",
            "d2:fb:49:24:37",
            "d2:fb:49:24:37:1g",
        ] {
            assert_error(
                &with(valid("mac-addr"), "value", json!(bad)),
                "invalid_value",
                "value",
            );
        }
        assert_error(
            &with(
                valid("ipv4-addr"),
                "resolves_to_refs",
                json!([sco_id("domain-name")]),
            ),
            "invalid_reference",
            "resolves_to_refs[0]",
        );
        assert_error(
            &with(valid("domain-name"), "value", json!(["example.com"])),
            "invalid_type",
            "value",
        );
    }

    #[test]
    fn network_traffic_rules() {
        let traffic = with(valid("network-traffic"), "src_port", json!(443));
        let traffic = with(traffic, "start", json!(CREATED));
        assert_clean(&with(traffic.clone(), "end", json!(MODIFIED)));
        assert_error(
            &with(traffic.clone(), "src_port", json!(70000)),
            "out_of_range",
            "src_port",
        );
        assert_error(
            &with(traffic.clone(), "end", json!("2019-01-01T00:00:00Z")),
            "end_before_start",
            "end",
        );
        let active = with(
            with(traffic.clone(), "is_active", json!(true)),
            "end",
            json!(MODIFIED),
        );
        assert_error(&active, "invalid_value", "end");
        assert_error(
            &without(traffic.clone(), "src_ref"),
            "missing_property",
            "src_ref",
        );
        assert_error(
            &with(traffic.clone(), "src_ref", json!(sco_id("url"))),
            "invalid_reference",
            "src_ref",
        );
        assert_error(
            &with(traffic.clone(), "protocols", json!([])),
            "invalid_value",
            "protocols",
        );
        let socket = with(
            traffic.clone(),
            "extensions",
            json!({"socket-ext": {"address_family": "AF_INET", "socket_type": "SOCK_STREAM"}}),
        );
        assert_clean(&socket);
        assert_error(
            &with(
                traffic.clone(),
                "extensions",
                json!({"socket-ext": {"address_family": "INET"}}),
            ),
            "not_in_enum",
            "extensions.socket-ext.address_family",
        );
        assert_error(
            &with(
                traffic.clone(),
                "extensions",
                json!({"tcp-ext": {"x_flags": "02"}}),
            ),
            "missing_property",
            "extensions.tcp-ext",
        );
        assert_error(
            &with(
                traffic.clone(),
                "extensions",
                json!({"icmp-ext": {"icmp_type_hex": "08", "icmp_code_hex": "0g"}}),
            ),
            "invalid_value",
            "extensions.icmp-ext.icmp_code_hex",
        );
        assert_error(
            &with(
                traffic,
                "extensions",
                json!({"http-request-ext": {"request_method": "get"}}),
            ),
            "missing_property",
            "extensions.http-request-ext.request_value",
        );
    }

    #[test]
    fn process_and_x509_need_a_property_of_their_own() {
        let empty_process = without(valid("process"), "pid");
        assert_error(&empty_process, "missing_property", "");
        let service = with(
            empty_process,
            "extensions",
            json!({"windows-service-ext": {"service_status": "SERVICE_RUNNING"}}),
        );
        assert_clean(&service);
        assert_error(
            &with(
                service,
                "extensions",
                json!({"windows-service-ext": {"service_status": "RUNNING"}}),
            ),
            "not_in_enum",
            "extensions.windows-service-ext.service_status",
        );
        assert_error(
            &with(valid("process"), "child_refs", json!([sco_id("file")])),
            "invalid_reference",
            "child_refs[0]",
        );
        assert_error(
            &without(valid("x509-certificate"), "serial_number"),
            "missing_property",
            "",
        );
        assert_error(
            &with(
                valid("x509-certificate"),
                "x509_v3_extensions",
                json!({"private_key_usage_period_not_before": "soon"}),
            ),
            "invalid_timestamp",
            "x509_v3_extensions.private_key_usage_period_not_before",
        );
    }

    #[test]
    fn registry_values_user_accounts_and_other_scos() {
        let values = json!([{"name": "Foo", "data": "qwerty", "data_type": "REG_SZ"}]);
        assert_clean(&with(valid("windows-registry-key"), "values", values));
        assert_error(
            &with(
                valid("windows-registry-key"),
                "values",
                json!([{"data_type": "SZ"}]),
            ),
            "not_in_enum",
            "values[0].data_type",
        );
        let unusual = with(valid("user-account"), "account_type", json!("mainframe"));
        assert_valid(&unusual);
        assert_warning(&unusual, "open_vocabulary", "account_type");
        assert_error(
            &with(valid("user-account"), "account_created", json!("yesterday")),
            "invalid_timestamp",
            "account_created",
        );
        assert_error(
            &with(
                valid("user-account"),
                "extensions",
                json!({"unix-account-ext": {"gid": "1"}}),
            ),
            "invalid_type",
            "extensions.unix-account-ext.gid",
        );
        assert_error(
            &with(valid("autonomous-system"), "number", json!("AS15139")),
            "invalid_type",
            "number",
        );
        assert_error(
            &with(valid("directory"), "contains_refs", json!([sco_id("url")])),
            "invalid_reference",
            "contains_refs[0]",
        );
        assert_error(
            &with(
                valid("email-addr"),
                "belongs_to_ref",
                json!(sco_id("email-addr")),
            ),
            "invalid_reference",
            "belongs_to_ref",
        );
        assert_error(
            &with(valid("software"), "languages", json!("en")),
            "invalid_type",
            "languages",
        );
        assert_error(
            &with(valid("url"), "defanged", json!("yes")),
            "invalid_type",
            "defanged",
        );
        assert_error(
            &with(valid("process"), "environment_variables", json!({"": "x"})),
            "invalid_value",
            "environment_variables.",
        );
    }

    #[test]
    fn empty_dictionaries_are_refused() {
        // STIX 2.1 section 2.3: "Empty dictionaries are prohibited".
        for (ty, property) in [
            ("email-message", "additional_header_fields"),
            ("process", "environment_variables"),
            ("network-traffic", "ipfix"),
        ] {
            assert_error(
                &with(valid(ty), property, json!({})),
                "invalid_value",
                property,
            );
        }
        assert_error(
            &with(
                valid("file"),
                "extensions",
                json!({"pdf-ext": {"document_info_dict": {}}}),
            ),
            "invalid_value",
            "extensions.pdf-ext.document_info_dict",
        );
        assert_error(
            &with(
                valid("process"),
                "extensions",
                json!({"windows-process-ext": {"startup_info": {}}}),
            ),
            "invalid_value",
            "extensions.windows-process-ext.startup_info",
        );
        // language-content: `contents` and each language's dictionary.
        assert_error(
            &with(valid("language-content"), "contents", json!({"de": {}})),
            "invalid_value",
            "contents.de",
        );
        assert_clean(&with(
            valid("email-message"),
            "additional_header_fields",
            json!({"X-Mailer": "m"}),
        ));
    }

    #[test]
    fn extensions_by_definition_need_extension_type() {
        // STIX 2.1 section 3.2: "When this extension facility is used the extension_type property
        // MUST be present"; predefined `*-ext` extensions do not use the facility.
        let definition = format!("extension-definition--{V4}");
        assert_error(
            &with(
                valid("incident"),
                "extensions",
                json!({definition.clone(): {"zone": "cell-4"}}),
            ),
            "missing_property",
            &format!("extensions.{definition}.extension_type"),
        );
        assert_clean(&with(
            valid("incident"),
            "extensions",
            json!({definition: {"extension_type": "property-extension", "zone": "cell-4"}}),
        ));
        assert_clean(&with(
            valid("file"),
            "extensions",
            json!({"ntfs-ext": {"sid": "S-1-5-21"}}),
        ));
        assert_clean(&with(
            valid("file"),
            "extensions",
            json!({"x-acme-ext": {"a": 1}}),
        ));
    }

    #[test]
    fn http_request_headers_are_string_lists_and_socket_options_integers() {
        let http = |header: Value| {
            with(
                valid("network-traffic"),
                "extensions",
                json!({"http-request-ext": {"request_method": "get", "request_value": "/",
                    "request_header": header}}),
            )
        };
        assert_clean(&http(
            json!({"Host": ["example.com"], "Accept": ["a", "b"]}),
        ));
        assert_error(
            &http(json!({"Host": "example.com"})),
            "invalid_type",
            "extensions.http-request-ext.request_header.Host",
        );
        assert_error(
            &http(json!({"Host": ["example.com", 1]})),
            "invalid_type",
            "extensions.http-request-ext.request_header.Host[1]",
        );
        let socket = |options: Value| {
            with(
                valid("network-traffic"),
                "extensions",
                json!({"socket-ext": {"address_family": "AF_INET", "options": options}}),
            )
        };
        assert_clean(&socket(json!({"SO_RCVTIMEO": 5000})));
        for bad in [json!("5000"), json!(1.5), json!([1])] {
            assert_error(
                &socket(json!({"SO_RCVTIMEO": bad})),
                "invalid_type",
                "extensions.socket-ext.options.SO_RCVTIMEO",
            );
        }
    }

    #[test]
    fn uuid_v4_is_required_without_id_contributing_properties() {
        // A process has no ID Contributing Properties (STIX 2.1 section 6.13.1).
        assert_error(
            &with(valid("process"), "id", json!(sco_id("process"))),
            "invalid_id",
            "id",
        );
        // Section 2.9: contributing properties all optional and none present: UUIDv4 MUST.
        let anonymous = with(
            without(valid("x509-certificate"), "serial_number"),
            "issuer",
            json!("CN=Example CA"),
        );
        assert_error(&anonymous, "invalid_id", "id");
        assert_clean(&with(anonymous, "id", json!(id("x509-certificate"))));
        let no_contributing = [
            (
                "email-message",
                json!({"is_multipart": false, "date": CREATED}),
            ),
            ("user-account", json!({"display_name": "Operator"})),
            ("windows-registry-key", json!({"modified_time": CREATED})),
        ];
        for (ty, own) in no_contributing {
            let mut object = json!({"type": ty, "spec_version": "2.1", "id": sco_id(ty)});
            for (k, v) in own.as_object().unwrap() {
                object[k] = v.clone();
            }
            assert_error(&object, "invalid_id", "id");
            assert_clean(&with(object, "id", json!(id(ty))));
        }
        // With a contributing property, UUIDv5 stays a SHOULD.
        let v4_certificate = with(
            valid("x509-certificate"),
            "id",
            json!(id("x509-certificate")),
        );
        assert_valid(&v4_certificate);
        assert_warning(&v4_certificate, "uuid_version", "id");
        // A required contributing property that is missing is reported as missing, not as the id.
        let nameless = with(
            without(valid("software"), "name"),
            "id",
            json!(sco_id("software")),
        );
        assert!(!validate(&nameless)
            .errors
            .iter()
            .any(|r| r.code == "invalid_id"));
    }

    #[test]
    fn user_accounts_registry_keys_and_their_parts_need_a_property() {
        let v4 = |ty: &str, object: Value| with(object, "id", json!(id(ty)));
        assert_error(
            &v4("user-account", without(valid("user-account"), "user_id")),
            "missing_property",
            "",
        );
        assert_clean(&v4(
            "user-account",
            with(
                without(valid("user-account"), "user_id"),
                "extensions",
                json!({"unix-account-ext": {"gid": 1001}}),
            ),
        ));
        assert_error(
            &v4(
                "windows-registry-key",
                without(valid("windows-registry-key"), "key"),
            ),
            "missing_property",
            "",
        );
        for value in [json!({}), json!({"x_note": "n"})] {
            assert_error(
                &with(valid("windows-registry-key"), "values", json!([value])),
                "missing_property",
                "values[0]",
            );
        }
        assert_clean(&with(
            valid("windows-registry-key"),
            "values",
            json!([{"data": "1"}]),
        ));
        for extensions in [json!({}), json!({"x_note": "n"})] {
            assert_error(
                &with(valid("x509-certificate"), "x509_v3_extensions", extensions),
                "missing_property",
                "x509_v3_extensions",
            );
        }
        assert_clean(&with(
            valid("x509-certificate"),
            "x509_v3_extensions",
            json!({"basic_constraints": "CA:FALSE"}),
        ));
    }

    #[test]
    fn number_of_subkeys_has_no_range() {
        // STIX 2.1 section 6.17.1: a plain integer.
        assert_clean(&with(
            valid("windows-registry-key"),
            "number_of_subkeys",
            json!(-1),
        ));
        assert_error(
            &with(
                valid("windows-registry-key"),
                "number_of_subkeys",
                json!("1"),
            ),
            "invalid_type",
            "number_of_subkeys",
        );
    }

    // -- lexical helpers -------------------------------------------------------------------------------

    #[test]
    fn lexical_helpers() {
        assert_eq!(parse_identifier(&id("x-acme")), Ok(("x-acme", 4)));
        assert_eq!(
            parse_identifier(&format!("x-acme---{V5}")),
            Ok(("x-acme-", 5))
        );
        assert!(
            valid_language_tag("en")
                && valid_language_tag("de-CH-1901")
                && valid_language_tag("x-klingon")
        );
        assert!(
            !valid_language_tag("e")
                && !valid_language_tag("en--us")
                && !valid_language_tag("en-toolongsubtag")
        );
        assert!(valid_base64("") && valid_base64("aGk=") && valid_base64("aA=="));
        assert!(!valid_base64("aGk") && !valid_base64("a===") && !valid_base64("a=Gk"));
        assert!(valid_hex("0aff") && !valid_hex("0aFf") && !valid_hex("abc") && !valid_hex("zz"));
        let path = At::Field(&TOP, "a");
        let item = At::Item(&path, 2);
        assert_eq!(At::Field(&item, "b").to_string(), "a[2].b");
    }

    // -- real data ---------------------------------------------------------------------------------------

    /// Every object of the MITRE ATT&CK for ICS releases in `../shared/corpus` validates without errors.
    /// The corpus is optional: the test passes (and says so) when it is absent.
    #[test]
    fn attack_ics_corpus_validates_without_errors() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/attack-ics");
        for release in ["10.0", "14.0", "18.1"] {
            let path = format!("{dir}/ics-attack-{release}.json");
            let Ok(bytes) = std::fs::read(&path) else {
                eprintln!("skipping: {path} is absent");
                continue;
            };
            let bundle: Value = serde_json::from_slice(&bytes).expect("corpus bundle is JSON");
            let objects = bundle["objects"].as_array().expect("a bundle with objects");
            assert!(!objects.is_empty());
            let mut warnings = std::collections::BTreeMap::new();
            for object in objects {
                let verdict = validate(object);
                assert!(
                    verdict.is_valid(),
                    "{} in {release}: {:#?}",
                    object["id"],
                    verdict.errors
                );
                for warning in verdict.warnings {
                    *warnings.entry(warning.code).or_insert(0usize) += 1;
                }
            }
            eprintln!(
                "ics-attack-{release}: {} objects valid; warnings {warnings:?}",
                objects.len()
            );
        }
    }

    /// Throughput on the corpus: `cargo test --release --lib stix::validate -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement, run by hand in release"]
    fn throughput_on_the_corpus() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus/attack-ics/ics-attack-18.1.json"
        );
        let Ok(bytes) = std::fs::read(path) else {
            eprintln!("skipping: {path} is absent");
            return;
        };
        let bundle: Value = serde_json::from_slice(&bytes).unwrap();
        let objects = bundle["objects"].as_array().unwrap();
        let rounds = 50;
        let start = std::time::Instant::now();
        let mut errors = 0;
        for _ in 0..rounds {
            for object in objects {
                errors += validate(object).errors.len();
            }
        }
        let per_second = (rounds * objects.len()) as f64 / start.elapsed().as_secs_f64();
        eprintln!("{per_second:.0} objects/second ({errors} errors)");
    }

    #[test]
    fn reserved_property_names_are_refused() {
        let mut incident = json!({"type": "incident", "spec_version": "2.1",
            "id": "incident--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
            "name": "Outage"});
        assert!(validate(&incident).is_valid());
        incident["severity"] = json!("high");
        let verdict = validate(&incident);
        assert!(
            verdict
                .errors
                .iter()
                .any(|r| r.code == "reserved_property_name" && r.property == "severity"),
            "{verdict:?}"
        );
    }

    /// MUSTs the reference validator misses too (conformance cases noted "BOTH ACCEPT" before).
    #[test]
    fn musts_the_reference_also_missed() {
        let mut attack_pattern = valid("attack-pattern");
        attack_pattern["defanged"] = json!(true);
        assert_error(&attack_pattern, "invalid_property", "defanged");

        let mut file = valid("file");
        file["magic_number_hex"] = json!("FFD8");
        assert_error(&file, "invalid_value", "magic_number_hex");
        file["magic_number_hex"] = json!("ffd8");
        assert!(validate(&file).is_valid(), "{:?}", validate(&file));

        let mut indicator = valid("indicator");
        indicator["pattern"] =
            json!("[ipv4-addr:value = '198.51.100.1' AND domain-name:value = 'example.com']");
        assert_error(&indicator, "invalid_pattern", "pattern");
        indicator["pattern"] =
            json!("[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'example.com']");
        assert!(validate(&indicator).is_valid());
        indicator["pattern"] = json!("[network-traffic:dst_port = 443 AND network-traffic:protocols[*] = 'tcp'] AND [domain-name:value = 'example.com']");
        assert!(
            validate(&indicator).is_valid(),
            "AND between observations may mix types"
        );

        let mut process = valid("process");
        process["environment_variables"] = json!({"PATH": 1});
        assert!(!validate(&process).is_valid());
    }
}
