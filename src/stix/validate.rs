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

use std::fmt;

use serde_json::{Map, Value};

use super::pattern;
use super::Reason;

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
    /// A dictionary (JSON object) whose keys follow the dictionary key rules.
    Dict,
    /// Any JSON object.
    Object,
    /// A JSON object checked against its own property table and required properties.
    ObjectOf(&'static [Prop], &'static [&'static str]),
    /// A non-empty list of JSON objects, each checked like [`Rule::ObjectOf`].
    ObjectsOf(&'static [Prop], &'static [&'static str]),
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
        extensions: &[],
        rules,
    }
}

const fn sco(
    props: &'static [Prop],
    required: &'static [&'static str],
    extensions: &'static [ExtensionSpec],
    rules: fn(&mut Checker<'_>),
) -> TypeSpec {
    TypeSpec {
        category: Category::Sco,
        props,
        required,
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
    &[],
    ipv6_rules,
);

static MAC_ADDR: TypeSpec = sco(&[p("value", Rule::Str)], &["value"], &[], mac_rules);

static MUTEX: TypeSpec = sco(&[p("name", Rule::Str)], &["name"], &[], no_rules);

const NETWORK_TRAFFIC_EXTENSIONS: &[ExtensionSpec] = &[
    ExtensionSpec {
        name: "http-request-ext",
        props: &[
            p("request_method", Rule::Str),
            p("request_value", Rule::Str),
            p("request_version", Rule::Str),
            p("request_header", Rule::Dict),
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
            p("options", Rule::Dict),
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
    p("environment_variables", Rule::Dict),
    p("opened_connection_refs", Rule::Refs(TO_NETWORK_TRAFFIC)),
    p("creator_user_ref", Rule::Ref(TO_USER_ACCOUNT)),
    p("image_ref", Rule::Ref(TO_FILE)),
    p("parent_ref", Rule::Ref(Target::Types(&["process"]))),
    p("child_refs", Rule::Refs(Target::Types(&["process"]))),
];

static PROCESS: TypeSpec = sco(PROCESS_OWN, &[], PROCESS_EXTENSIONS, process_rules);

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
    &[],
    no_rules,
);

static URL: TypeSpec = sco(&[p("value", Rule::Str)], &["value"], &[], no_rules);

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

static USER_ACCOUNT: TypeSpec = sco(
    &[
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
    ],
    &[],
    USER_ACCOUNT_EXTENSIONS,
    no_rules,
);

const WINDOWS_REGISTRY_VALUE: &[Prop] = &[
    p("name", Rule::Str),
    p("data", Rule::Str),
    p("data_type", Rule::Enum(WINDOWS_REGISTRY_DATATYPE)),
];

static WINDOWS_REGISTRY_KEY: TypeSpec = sco(
    &[
        p("key", Rule::Str),
        p("values", Rule::ObjectsOf(WINDOWS_REGISTRY_VALUE, &[])),
        p("modified_time", Rule::Timestamp),
        p("creator_user_ref", Rule::Ref(TO_USER_ACCOUNT)),
        p("number_of_subkeys", NON_NEGATIVE),
    ],
    &[],
    &[],
    no_rules,
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
        Rule::ObjectOf(X509_V3_EXTENSIONS, &[]),
    ),
];

static X509_CERTIFICATE: TypeSpec = sco(X509_OWN, &[], &[], x509_rules);

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

    /// `id`: `type--UUID` with the object's own type and an RFC 4122 UUID; the UUID version SHOULD be 4
    /// (5 for SCOs other than process).
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
        let expected = match category {
            Category::Sdo | Category::Sro | Category::Meta => 4,
            Category::Sco if self.ty == "process" => 4,
            Category::Sco => 5,
            Category::Custom => return,
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
        if !valid_property_name(name) {
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
            Rule::Dict => self.dictionary(v, at),
            Rule::Object => {
                self.object(v, at);
            }
            Rule::ObjectOf(props, required) => self.object_of(v, at, props, required),
            Rule::ObjectsOf(props, required) => {
                self.each(v, at, |c, item, at| c.object_of(item, at, props, required))
            }
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
                            format!("{s:?} must be an even number of hexadecimal digits"),
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

    /// A dictionary: keys of 1-250 characters of a-z, A-Z, 0-9, `-` and `_` (STIX 2.1 section 2.6).
    fn dictionary(&mut self, v: &'a Value, at: At<'_>) {
        let Some(map) = self.object(v, at) else {
            return;
        };
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
    /// objects; predefined SCO extensions are checked against their tables.
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
            if let Some(extension_type) = body.get("extension_type") {
                self.enumeration(
                    extension_type,
                    At::Field(&key_at, "extension_type"),
                    EXTENSION_TYPE,
                );
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
    if let Err(e) = pattern::parse(text) {
        c.error(
            "invalid_pattern",
            At::Field(&TOP, "pattern"),
            format!("not a valid STIX pattern: {e}"),
        );
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
    if b.len() % 4 != 0 {
        return false;
    }
    let padding = b.iter().rev().take_while(|&&c| c == b'=').count();
    padding <= 2
        && b[..b.len() - padding]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

fn valid_hex(s: &str) -> bool {
    s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())
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
