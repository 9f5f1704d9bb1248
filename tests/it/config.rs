//! The config file: every error class names the file, the key and what was expected (exit status 2 from
//! the binary), `TAXII_RELAY__SECTION__KEY` overrides, `TAXII_RELAY_CONFIG`, and secrets that never print.

use crate::helpers::{relay, relay_command, stderr, stdout};
use std::path::{Path, PathBuf};
use std::time::Duration;
use taxii_relay::config::{self, ConfigError, ConfigSource, Settings};

const COLLECTION: &str =
    "[[collections]]\nname = \"c\"\nurl = \"https://taxii.example.org/api1/collections/abc/\"\n";

const PASSWORD_VAR: &str = "RELAY_TEST_AIS_PASSWORD";
const PASSWORD: &str = "pw-from-env-Zq81x";
const STORE_PASSWORD: &str = "hunter2-secret";
const TOKEN_IN_FILE: &str = "token-from-file-Kp27w";

/// A temp dir holding one test's config and secret files.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    fn load(&self, text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let path = self.write("relay.toml", text);
        config::load_with_env(&ConfigSource::File(path), env_vec(env))
    }

    /// Loads `text`, expects an error at `key`, checks it names the file and the key, returns its Display.
    fn error(&self, text: &str, env: &[(&str, &str)], key: &str) -> String {
        let path = self.write("relay.toml", text);
        let err = config::load_with_env(&ConfigSource::File(path.clone()), env_vec(env))
            .expect_err(&format!("expected an error at `{key}` for:\n{text}"));
        let shown = err.to_string();
        assert_eq!(err.key, key, "wrong key in: {shown}\nfor:\n{text}");
        assert_eq!(err.file, path.display().to_string());
        assert!(
            shown.starts_with(&format!("config error in {}: ", path.display())),
            "file not named: {shown}"
        );
        if !key.is_empty() {
            assert!(shown.contains(&format!("key `{key}`: ")), "{shown}");
        }
        assert!(shown.contains("expected"), "nothing expected in: {shown}");
        assert!(!shown.contains('\n'), "not one line: {shown}");
        shown
    }
}

fn env_vec(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn assert_contains(shown: &str, wanted: &str) {
    assert!(shown.contains(wanted), "{wanted:?} not in: {shown}");
}

fn assert_no_secret(text: &str) {
    for secret in [PASSWORD, STORE_PASSWORD, TOKEN_IN_FILE] {
        assert!(
            !text.contains(secret),
            "secret {secret:?} printed in:\n{text}"
        );
    }
}

/// A config with a secret of every kind: an env password, a file token, a password in the store URL.
fn secret_config(dir: &Dir, extra: &str) -> String {
    let token_file = dir.write("splunk.token", &format!("{TOKEN_IN_FILE}\n"));
    format!(
        "[store]\nurl = \"postgres://relay:{STORE_PASSWORD}@127.0.0.1/db\"\n\
         {COLLECTION}\
         [collections.auth]\nkind = \"basic\"\nusername = \"apiuser\"\npassword_env = \"{PASSWORD_VAR}\"\n\
         [[sinks]]\nname = \"splunk\"\nkind = \"splunk_hec\"\nurl = \"https://splunk.example.org:8088\"\n\
         token_file = \"{}\"\n{extra}",
        token_file.display()
    )
}

#[test]
fn config_unknown_keys_name_their_path() {
    let dir = Dir::new();
    let sink = "[[sinks]]\nname = \"s\"\nkind = \"file\"\npath = \"/tmp/s.jsonl\"\n";
    let cases = [
        ("shutdown_timout = \"5s\"\n".to_owned(), "shutdown_timout"),
        (
            "[store]\nurl = \"sqlite://x.db\"\nmax_connection = 4\n".to_owned(),
            "store.max_connection",
        ),
        ("[log]\nlevl = \"info\"\n".to_owned(), "log.levl"),
        ("[http]\nport = 9464\n".to_owned(), "http.port"),
        (
            format!("{COLLECTION}urll = \"https://other.example.org/\"\n"),
            "collections[0].urll",
        ),
        (
            format!(
                "{COLLECTION}{}urll = \"x\"\n",
                COLLECTION.replace("\"c\"", "\"d\"")
            ),
            "collections[1].urll",
        ),
        (
            format!("{COLLECTION}[collections.auth]\nkind = \"none\"\nusr = \"u\"\n"),
            "collections[0].auth.usr",
        ),
        (
            format!("{COLLECTION}[collections.tls]\nca = \"/ca.pem\"\n"),
            "collections[0].tls.ca",
        ),
        (format!("{sink}idx = \"main\"\n"), "sinks[0].idx"),
        (
            format!("{sink}[sinks.tls]\nca = \"/ca.pem\"\n"),
            "sinks[0].tls.ca",
        ),
    ];
    for (text, key) in cases {
        let shown = dir.error(&text, &[], key);
        let field = key.rsplit('.').next().unwrap();
        assert_contains(&shown, &format!("unknown key `{field}`"));
        assert_contains(&shown, ", expected ");
    }
    // The valid keys are listed, so the typo is easy to fix.
    let shown = dir.error(
        &format!("{COLLECTION}urll = \"x\"\n"),
        &[],
        "collections[0].urll",
    );
    assert_contains(&shown, "`url`");
    assert_contains(&shown, "`poll_interval`");
}

#[test]
fn config_inline_secret_is_an_unknown_key_and_is_not_echoed() {
    let dir = Dir::new();
    let text = format!(
        "{COLLECTION}[collections.auth]\nkind = \"basic\"\nusername = \"u\"\npassword = \"{PASSWORD}\"\n"
    );
    let shown = dir.error(&text, &[], "collections[0].auth.password");
    assert_contains(&shown, "password_env");
    assert_no_secret(&shown);
}

#[test]
fn config_bad_durations() {
    let dir = Dir::new();
    let cases = [
        (
            "poll_interval = \"five minutes\"",
            "collections[0].poll_interval",
        ),
        ("overlap = 300", "collections[0].overlap"),
        ("overlap = \"300\"", "collections[0].overlap"),
        (
            "connect_timeout = \"10 parsecs\"",
            "collections[0].connect_timeout",
        ),
        ("read_timeout = \"-1s\"", "collections[0].read_timeout"),
        ("retry_backoff = true", "collections[0].retry_backoff"),
    ];
    for (line, key) in cases {
        let shown = dir.error(&format!("{COLLECTION}{line}\n"), &[], key);
        assert_contains(&shown, "expected a duration with a unit, like \"30s\"");
    }
    let shown = dir.error("shutdown_timeout = 30\n", &[], "shutdown_timeout");
    assert_contains(&shown, "expected a duration");

    // Durations that parse but make no sense.
    let shown = dir.error(
        &format!("{COLLECTION}poll_interval = \"500ms\"\n"),
        &[],
        "collections[0].poll_interval",
    );
    assert_contains(&shown, "expected at least 1s");
    let shown = dir.error(
        &format!("{COLLECTION}retry_backoff = \"10m\"\nretry_backoff_max = \"1m\"\n"),
        &[],
        "collections[0].retry_backoff",
    );
    assert_contains(&shown, "retry_backoff_max");
}

#[test]
fn config_humantime_durations_load() {
    // "5 minutes" is valid humantime, like "5m" and "1h 30m".
    let dir = Dir::new();
    let settings = dir
        .load(
            &format!(
                "shutdown_timeout = \"1m\"\n{COLLECTION}poll_interval = \"5 minutes\"\noverlap = \"1h 30m\"\nretry_backoff = \"250ms\"\n"
            ),
            &[],
        )
        .unwrap();
    let c = &settings.collections[0];
    assert_eq!(settings.shutdown_timeout, Duration::from_secs(60));
    assert_eq!(c.poll_interval, Duration::from_secs(300));
    assert_eq!(c.overlap, Duration::from_secs(5400));
    assert_eq!(c.retry_backoff, Duration::from_millis(250));
}

#[test]
fn config_bad_urls() {
    let dir = Dir::new();
    let shown = dir.error(
        "[[collections]]\nname = \"c\"\nurl = \"not a url\"\n",
        &[],
        "collections[0].url",
    );
    assert_contains(&shown, "expected an http:// or https:// URL");
    let shown = dir.error(
        "[[collections]]\nname = \"c\"\nurl = \"ftp://x/\"\n",
        &[],
        "collections[0].url",
    );
    assert_contains(&shown, "expected an http:// or https:// URL, got ftp://x/");
    let shown = dir.error(
        "[[sinks]]\nname = \"s\"\nkind = \"misp\"\nurl = \"misp.example.org\"\ntoken_env = \"T\"\n",
        &[("T", "t")],
        "sinks[0].url",
    );
    assert_contains(&shown, "expected an http:// or https:// URL");
    let shown = dir.error(
        "[store]\nurl = \"mysql://relay@db.example.org/relay\"\n",
        &[],
        "store.url",
    );
    assert_contains(
        &shown,
        "expected sqlite://FILE or postgres://USER@HOST/DB, got \"mysql://relay@db.example.org/relay\"",
    );
    let shown = dir.error("[store]\nurl = \"taxii-relay.db\"\n", &[], "store.url");
    assert_contains(&shown, "expected sqlite://FILE or postgres://USER@HOST/DB");
    let shown = dir.error("[http]\nlisten = \"localhost\"\n", &[], "http.listen");
    assert_contains(&shown, "expected an address and port");
}

#[test]
fn config_passwords_in_urls_are_never_echoed() {
    let dir = Dir::new();
    let cases = [
        (
            format!("[store]\nurl = \"mysql://relay:{STORE_PASSWORD}@db/x\"\n"),
            "store.url",
        ),
        (
            format!("[store]\nurl = \"relay:{STORE_PASSWORD}@db/x\"\n"),
            "store.url",
        ),
        (
            format!("[store]\nurl = \"postgres://relay:{STORE_PASSWORD}@db:port/x\"\n"),
            "store.url",
        ),
        (
            format!(
                "[[collections]]\nname = \"c\"\nurl = \"https://u:{STORE_PASSWORD}@taxii.example.org/c/\"\n"
            ),
            "collections[0].url",
        ),
        (
            format!(
                "[[collections]]\nname = \"c\"\nurl = \"https://u:{STORE_PASSWORD}@taxii.example.org:port/c/\"\n"
            ),
            "collections[0].url",
        ),
    ];
    for (text, key) in cases {
        let shown = dir.error(&text, &[], key);
        assert_no_secret(&shown);
    }
    // A collection URL may not carry a password: credentials go through auth.
    let shown = dir.error(
        &format!(
            "[[collections]]\nname = \"c\"\nurl = \"https://u:{STORE_PASSWORD}@taxii.example.org/c/\"\n"
        ),
        &[],
        "collections[0].url",
    );
    assert_contains(&shown, "expected a URL without a password");
    assert_contains(&shown, "https://u:REDACTED@taxii.example.org/c/");
}

#[test]
fn config_duplicate_and_invalid_names() {
    let dir = Dir::new();
    let shown = dir.error(
        &format!("{COLLECTION}{COLLECTION}"),
        &[],
        "collections[1].name",
    );
    assert_contains(
        &shown,
        "expected a unique collection name; \"c\" is used twice",
    );
    let sink = "[[sinks]]\nname = \"archive\"\nkind = \"file\"\npath = \"/tmp/a.jsonl\"\n";
    let shown = dir.error(&format!("{sink}{sink}"), &[], "sinks[1].name");
    assert_contains(
        &shown,
        "expected a unique sink name; \"archive\" is used twice",
    );

    for name in ["ais financial", "", "a/b", "ä"] {
        let text = COLLECTION.replace("\"c\"", &format!("{name:?}"));
        let shown = dir.error(&text, &[], "collections[0].name");
        assert_contains(&shown, "expected a name of letters, digits");
    }
    let shown = dir.error(
        "[[sinks]]\nname = \"to splunk\"\nkind = \"file\"\npath = \"/tmp/a.jsonl\"\n",
        &[],
        "sinks[0].name",
    );
    assert_contains(&shown, "\"to splunk\"");

    // A missing name is named at the key that is missing, not at its table.
    let shown = dir.error(
        "[[collections]]\nurl = \"https://taxii.example.org/c/\"\n",
        &[],
        "collections[0].name",
    );
    assert_contains(&shown, "this key is required");
    let shown = dir.error(
        "[[sinks]]\nname = \"s\"\npath = \"/tmp/a.jsonl\"\n",
        &[],
        "sinks[0].kind",
    );
    assert_contains(&shown, "this key is required");
}

#[test]
fn config_missing_secrets() {
    let dir = Dir::new();
    let auth = |lines: &str| format!("{COLLECTION}[collections.auth]\n{lines}\n");
    let missing_file = dir.path("no-such-secret");
    let empty_file = dir.write("empty-secret", " \n");

    let shown = dir.error(
        &auth("kind = \"basic\"\nusername = \"u\"\npassword_env = \"AIS_PASSWORD\""),
        &[],
        "collections[0].auth.password_env",
    );
    assert_contains(
        &shown,
        "expected the environment variable AIS_PASSWORD to be set and non-empty",
    );
    dir.error(
        &auth("kind = \"basic\"\nusername = \"u\"\npassword_env = \"AIS_PASSWORD\""),
        &[("AIS_PASSWORD", "")],
        "collections[0].auth.password_env",
    );
    let shown = dir.error(
        &auth(&format!(
            "kind = \"basic\"\nusername = \"u\"\npassword_file = \"{}\"",
            missing_file.display()
        )),
        &[],
        "collections[0].auth.password_file",
    );
    assert_contains(
        &shown,
        &format!("expected a readable file at {}", missing_file.display()),
    );
    let shown = dir.error(
        &auth(&format!(
            "kind = \"basic\"\nusername = \"u\"\npassword_file = \"{}\"",
            empty_file.display()
        )),
        &[],
        "collections[0].auth.password_file",
    );
    assert_contains(&shown, "it is empty");
    let shown = dir.error(
        &auth("kind = \"basic\"\npassword_env = \"P\""),
        &[("P", "p")],
        "collections[0].auth.username",
    );
    assert_contains(&shown, "expected a username for basic auth");
    let shown = dir.error(
        &auth("kind = \"basic\"\nusername = \"u\""),
        &[],
        "collections[0].auth.password_env",
    );
    assert_contains(&shown, "expected password_env or password_file");
    let shown = dir.error(
        &auth("kind = \"bearer\""),
        &[],
        "collections[0].auth.token_env",
    );
    assert_contains(&shown, "expected token_env or token_file for bearer auth");
    dir.error(
        &auth("kind = \"bearer\"\ntoken_env = \"VENDOR_TOKEN\""),
        &[],
        "collections[0].auth.token_env",
    );
    let shown = dir.error(
        &auth("kind = \"header\"\ntoken_env = \"K\""),
        &[("K", "k")],
        "collections[0].auth.header",
    );
    assert_contains(&shown, "expected the header name");
    let shown = dir.error(
        &auth("kind = \"header\"\nheader = \"X API Key\"\ntoken_env = \"K\""),
        &[("K", "k")],
        "collections[0].auth.header",
    );
    assert_contains(&shown, "expected a valid HTTP header name");
    dir.error(
        &auth("kind = \"header\"\nheader = \"X-API-Key\""),
        &[],
        "collections[0].auth.token_env",
    );

    // Sinks: the platform credential, and a taxii sink's auth table.
    let splunk = "[[sinks]]\nname = \"s\"\nkind = \"splunk_hec\"\nurl = \"https://splunk.example.org:8088\"\n";
    dir.error(
        &format!("{splunk}token_env = \"SPLUNK_HEC_TOKEN\"\n"),
        &[],
        "sinks[0].token_env",
    );
    dir.error(
        &format!("{splunk}token_file = \"{}\"\n", missing_file.display()),
        &[],
        "sinks[0].token_file",
    );
    dir.error(
        "[[sinks]]\nname = \"t\"\nkind = \"taxii\"\nurl = \"https://taxii.example.org/c/\"\n[sinks.auth]\nkind = \"bearer\"\ntoken_env = \"T\"\n",
        &[],
        "sinks[0].auth.token_env",
    );
}

#[test]
fn config_env_and_file_both_given_and_tls_pairs() {
    let dir = Dir::new();
    let secret = dir.write("secret", "s\n");
    let env = [("P", "p")];
    let shown = dir.error(
        &format!(
            "{COLLECTION}[collections.auth]\nkind = \"basic\"\nusername = \"u\"\npassword_env = \"P\"\npassword_file = \"{}\"\n",
            secret.display()
        ),
        &env,
        "collections[0].auth.password_env",
    );
    assert_contains(
        &shown,
        "expected either password_env or password_file, not both",
    );
    let shown = dir.error(
        &format!(
            "{COLLECTION}[collections.auth]\nkind = \"bearer\"\ntoken_env = \"P\"\ntoken_file = \"{}\"\n",
            secret.display()
        ),
        &env,
        "collections[0].auth.token_env",
    );
    assert_contains(&shown, "expected either token_env or token_file, not both");
    let shown = dir.error(
        &format!(
            "[[sinks]]\nname = \"s\"\nkind = \"opencti\"\nurl = \"https://opencti.example.org\"\ntoken_env = \"P\"\ntoken_file = \"{}\"\n",
            secret.display()
        ),
        &env,
        "sinks[0].token_env",
    );
    assert_contains(&shown, "expected either token_env or token_file, not both");

    let shown = dir.error(
        &format!("{COLLECTION}[collections.tls]\nclient_cert_file = \"/etc/c.pem\"\n"),
        &[],
        "collections[0].tls.client_key_file",
    );
    assert_contains(
        &shown,
        "expected client_cert_file and client_key_file together",
    );
    dir.error(
        &format!("{COLLECTION}[collections.tls]\nclient_key_file = \"/etc/c.key\"\n"),
        &[],
        "collections[0].tls.client_key_file",
    );
    dir.error(
        "[[sinks]]\nname = \"s\"\nkind = \"file\"\npath = \"/tmp/s.jsonl\"\n[sinks.tls]\nclient_cert_file = \"/etc/c.pem\"\n",
        &[],
        "sinks[0].tls.client_key_file",
    );
}

#[test]
fn config_bad_enum_values_list_the_accepted_ones() {
    let dir = Dir::new();
    let sink = "[[sinks]]\nname = \"s\"\nkind = \"file\"\npath = \"/tmp/s.jsonl\"\n";
    let cases = [
        (
            format!("{COLLECTION}taxii_version = \"2.2\"\n"),
            "collections[0].taxii_version",
            "expected \"2.1\" or \"2.0\" (quoted), got \"2.2\"",
        ),
        (
            format!("{COLLECTION}taxii_version = 2.0\n"),
            "collections[0].taxii_version",
            "expected \"2.1\" or \"2.0\" (quoted)",
        ),
        (
            format!("{COLLECTION}default_tlp = \"purple\"\n"),
            "collections[0].default_tlp",
            "expected clear, green, amber, amber+strict or red, got \"purple\"",
        ),
        (
            format!("{sink}max_tlp = \"tlp-red\"\n"),
            "sinks[0].max_tlp",
            "expected clear, green, amber, amber+strict or red, got \"tlp-red\"",
        ),
        (
            "[log]\nformat = \"xml\"\n".to_owned(),
            "log.format",
            "expected json or pretty, got \"xml\"",
        ),
        (
            "[[sinks]]\nname = \"s\"\nkind = \"kafka\"\n".to_owned(),
            "sinks[0].kind",
            "expected misp, opencti, splunk_hec, file or taxii, got \"kafka\"",
        ),
        (
            format!("{COLLECTION}[collections.auth]\nkind = \"oauth\"\n"),
            "collections[0].auth.kind",
            "expected basic, bearer, header or none, got \"oauth\"",
        ),
    ];
    for (text, key, expected) in cases {
        let shown = dir.error(&text, &[], key);
        assert_contains(&shown, expected);
    }
}

#[test]
fn config_other_bad_values() {
    let dir = Dir::new();
    let shown = dir.error(
        &format!("{COLLECTION}page_size = 0\n"),
        &[],
        "collections[0].page_size",
    );
    assert_contains(&shown, "expected 1 to 10000");
    dir.error(
        &format!("{COLLECTION}page_size = -5\n"),
        &[],
        "collections[0].page_size",
    );
    let shown = dir.error(
        &format!("{COLLECTION}initial_added_after = \"yesterday\"\n"),
        &[],
        "collections[0].initial_added_after",
    );
    assert_contains(&shown, "expected an RFC 3339 timestamp");
    let shown = dir.error(
        &format!("{COLLECTION}types = \"indicator\"\n"),
        &[],
        "collections[0].types",
    );
    assert_contains(&shown, "expected a sequence");
    let shown = dir.error(
        "[store]\nurl = \"sqlite://x.db\"\nmax_connections = 0\n",
        &[],
        "store.max_connections",
    );
    assert_contains(&shown, "expected at least 1");
    let shown = dir.error(
        "[log]\nlevel = \"info,taxii_relay=loud\"\n",
        &[],
        "log.level",
    );
    assert_contains(&shown, "expected a level");
    dir.error("collections = 3\n", &[], "collections");
}

#[test]
fn config_sink_kind_requirements() {
    let dir = Dir::new();
    let env = [("T", "t")];
    let shown = dir.error(
        "[[sinks]]\nname = \"s\"\nkind = \"file\"\n",
        &env,
        "sinks[0].path",
    );
    assert_contains(&shown, "expected a file path for a file sink");
    for kind in ["splunk_hec", "misp", "opencti", "taxii"] {
        let shown = dir.error(
            &format!("[[sinks]]\nname = \"s\"\nkind = \"{kind}\"\ntoken_env = \"T\"\n"),
            &env,
            "sinks[0].url",
        );
        assert_contains(&shown, "expected the platform's URL");
    }
    for kind in ["splunk_hec", "misp", "opencti"] {
        let shown = dir.error(
            &format!(
                "[[sinks]]\nname = \"s\"\nkind = \"{kind}\"\nurl = \"https://p.example.org\"\n"
            ),
            &env,
            "sinks[0].token_env",
        );
        assert_contains(&shown, "expected token_env or token_file");
    }
    // The defaults: TLP:RED only when said, token resolved.
    let settings = dir
        .load(
            "[[sinks]]\nname = \"s\"\nkind = \"splunk_hec\"\nurl = \"https://p.example.org\"\ntoken_env = \"T\"\n\
             [[sinks]]\nname = \"red\"\nkind = \"file\"\npath = \"/tmp/r.jsonl\"\nmax_tlp = \"red\"\n",
            &env,
        )
        .unwrap();
    assert_eq!(
        settings.sinks[0].max_tlp,
        taxii_relay::stix::tlp::Tlp::AmberStrict
    );
    assert_eq!(settings.sinks[1].max_tlp, taxii_relay::stix::tlp::Tlp::Red);
    assert_eq!(
        config::expose(settings.sinks[0].token.as_ref().unwrap()),
        "t"
    );
}

#[test]
fn config_toml_syntax_error_names_the_file_and_line() {
    let dir = Dir::new();
    let shown = dir.error("[store\nurl = \"sqlite://x.db\"\n", &[], "");
    assert_contains(
        &shown,
        "expected valid TOML; syntax error at line 1, column 7",
    );
    let shown = dir.error(
        "[store]\nurl = \"sqlite://x.db\"\nmax_connections = 3x\n",
        &[],
        "",
    );
    assert_contains(&shown, "line 3");
    // The offending line is not quoted back: it may hold the store URL's password.
    let shown = dir.error(
        &format!("[store]\nurl = \"postgres://relay:{STORE_PASSWORD}@127.0.0.1/db\n"),
        &[],
        "",
    );
    assert_contains(&shown, "line 2");
    assert_no_secret(&shown);
}

#[test]
fn config_missing_file_names_the_path() {
    let dir = Dir::new();
    let path = dir.path("absent.toml");
    let err = config::load_with_env(&ConfigSource::File(path.clone()), vec![]).unwrap_err();
    assert_eq!(err.key, "");
    assert_eq!(err.file, path.display().to_string());
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "config error in {}: cannot read the file",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn config_env_overrides() {
    let dir = Dir::new();
    let text = format!(
        "shutdown_timeout = \"10s\"\n[store]\nurl = \"sqlite://from-file.db\"\nmax_connections = 2\n[log]\nlevel = \"info\"\n{COLLECTION}"
    );
    let settings = dir.load(&text, &[]).unwrap();
    assert_eq!(settings.store.url, "sqlite://from-file.db");

    let settings = dir
        .load(
            &text,
            &[
                (
                    "TAXII_RELAY__STORE__URL",
                    "postgres://relay@db.example.org/relay",
                ),
                ("TAXII_RELAY__STORE__MAX_CONNECTIONS", "16"),
                ("TAXII_RELAY__LOG__LEVEL", "debug"),
                ("TAXII_RELAY__LOG__FORMAT", "pretty"),
                ("TAXII_RELAY__HTTP__LISTEN", "0.0.0.0:9000"),
                ("TAXII_RELAY__SHUTDOWN_TIMEOUT", "1m"),
            ],
        )
        .unwrap();
    assert_eq!(settings.store.url, "postgres://relay@db.example.org/relay");
    assert_eq!(settings.store.max_connections, 16);
    assert_eq!(settings.log.level, "debug");
    assert_eq!(settings.log.format, config::LogFormat::Pretty);
    assert_eq!(settings.http.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(settings.shutdown_timeout, Duration::from_secs(60));
    assert_eq!(
        settings.collections[0].name, "c",
        "the file's other keys stay"
    );

    // Sections absent from the file can be given from the environment too.
    let settings = dir
        .load(COLLECTION, &[("TAXII_RELAY__LOG__LEVEL", "warn")])
        .unwrap();
    assert_eq!(settings.log.level, "warn");
}

#[test]
fn config_bad_env_overrides_name_the_key_and_the_variable() {
    let dir = Dir::new();
    let text = "[store]\nurl = \"sqlite://x.db\"\n";
    let shown = dir.error(
        text,
        &[("TAXII_RELAY__STORE__MAX_CONNECTIONS", "lots")],
        "store.max_connections",
    );
    assert_contains(&shown, "expected an integer");
    assert_contains(&shown, "TAXII_RELAY__STORE__MAX_CONNECTIONS");
    let shown = dir.error(
        text,
        &[("TAXII_RELAY__STORE__URL", "mysql://db/x")],
        "store.url",
    );
    assert_contains(&shown, "TAXII_RELAY__STORE__URL");
    let shown = dir.error(text, &[("TAXII_RELAY__LOG__FORMAT", "xml")], "log.format");
    assert_contains(&shown, "expected json or pretty");
    let shown = dir.error(
        text,
        &[("TAXII_RELAY__STORE__URLL", "sqlite://y.db")],
        "store.urll",
    );
    assert_contains(&shown, "unknown key `urll`");
    assert_contains(&shown, "TAXII_RELAY__STORE__URLL");
    dir.error(
        text,
        &[("TAXII_RELAY__SHUTDOWN_TIMEOUT", "30")],
        "shutdown_timeout",
    );
}

#[test]
fn config_secrets_are_resolved_but_never_printed() {
    let dir = Dir::new();
    let text = secret_config(&dir, "");
    let settings = dir.load(&text, &[(PASSWORD_VAR, PASSWORD)]).unwrap();
    let auth = &settings.collections[0].auth;
    assert_eq!(config::expose(auth.secret.as_ref().unwrap()), PASSWORD);
    assert_eq!(
        config::expose(settings.sinks[0].token.as_ref().unwrap()),
        TOKEN_IN_FILE,
        "the file's trailing newline is not part of the secret"
    );

    let debug = format!("{settings:?}");
    assert_no_secret(&debug);
    let pretty = format!("{settings:#?}");
    assert_no_secret(&pretty);

    let shown = settings.to_redacted_toml();
    assert_no_secret(&shown);
    assert_contains(&shown, "postgres://relay:REDACTED@127.0.0.1/db");
    assert_contains(&shown, PASSWORD_VAR);
    assert_contains(&shown, "splunk.token");
}

#[test]
fn config_errors_elsewhere_in_a_file_with_secrets_print_no_secret() {
    let dir = Dir::new();
    let env = [(PASSWORD_VAR, PASSWORD)];
    let cases = [
        ("[log]\nformat = \"xml\"\n", "log.format"),
        ("[http]\nlisten = \"nowhere\"\n", "http.listen"),
        (
            "[[sinks]]\nname = \"splunk\"\nkind = \"file\"\npath = \"/tmp/x\"\n",
            "sinks[1].name",
        ),
        (
            "[[collections]]\nname = \"d\"\nurl = \"https://x.example.org/\"\nurll = 1\n",
            "collections[1].urll",
        ),
    ];
    for (extra, key) in cases {
        let shown = dir.error(&secret_config(&dir, extra), &env, key);
        assert_no_secret(&shown);
    }
    // The secret itself is wrong: still not printed.
    let text = secret_config(&dir, "").replace("username = \"apiuser\"\n", "");
    let shown = dir.error(&text, &env, "collections[0].auth.username");
    assert_no_secret(&shown);
}

#[test]
fn config_redacted_toml_loads_back() {
    let dir = Dir::new();
    let token = dir.write("token", "t\n");
    let text = format!(
        "{COLLECTION}taxii_version = \"2.0\"\npoll_interval = \"90s\"\ndefault_tlp = \"green\"\n\
         initial_added_after = \"2025-01-01T00:00:00Z\"\ntypes = [\"indicator\"]\n\
         [collections.auth]\nkind = \"header\"\nheader = \"X-API-Key\"\ntoken_env = \"K\"\n\
         [[sinks]]\nname = \"misp\"\nkind = \"misp\"\nurl = \"https://misp.example.org\"\ntoken_file = \"{}\"\n",
        token.display()
    );
    let env = [("K", "k")];
    let first = dir.load(&text, &env).unwrap();
    let printed = first.to_redacted_toml();
    let again = dir
        .load(&printed, &env)
        .unwrap_or_else(|e| panic!("check-config output does not load: {e}\n{printed}"));
    assert_eq!(again.to_redacted_toml(), printed);
    let c = &again.collections[0];
    assert_eq!(c.taxii_version, config::TaxiiVersion::V20);
    assert_eq!(c.poll_interval, Duration::from_secs(90));
    assert_eq!(c.types, vec!["indicator".to_owned()]);
}

/// Gives every `*_env` a value and points every `*_file` at `file`, which exists.
fn provide_secrets(
    file: &Path,
    value: &toml::Value,
    text: &mut String,
    env: &mut Vec<(String, String)>,
) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                match value {
                    toml::Value::String(s) if key.ends_with("_env") => {
                        env.push((s.clone(), format!("value-of-{s}")));
                    }
                    toml::Value::String(s) if key.ends_with("_file") => {
                        let quoted = toml::Value::String(file.display().to_string()).to_string();
                        *text = text
                            .replace(&format!("\"{s}\""), &quoted)
                            .replace(&format!("'{s}'"), &quoted);
                    }
                    _ => provide_secrets(file, value, text, env),
                }
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                provide_secrets(file, item, text, env);
            }
        }
        _ => {}
    }
}

#[test]
fn config_every_example_config_loads() {
    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&config_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(
        files.iter().any(|f| f.ends_with("quickstart.toml")),
        "{files:?}"
    );
    for file in files {
        let original = std::fs::read_to_string(&file).unwrap();
        let dir = Dir::new();
        let mut text = original.clone();
        let mut env = Vec::new();
        let parsed: toml::Value = toml::from_str(&original)
            .unwrap_or_else(|e| panic!("{} is not TOML: {e}", file.display()));
        let secret_file = dir.write("secret", "example-secret\n");
        provide_secrets(&secret_file, &parsed, &mut text, &mut env);
        let path = if text == original {
            file.clone()
        } else {
            dir.write("example.toml", &text)
        };
        let settings = config::load_with_env(&ConfigSource::File(path), env)
            .unwrap_or_else(|e| panic!("{} does not load: {e}", file.display()));
        let shown = settings.to_redacted_toml();
        assert!(
            !shown.contains("value-of-") && !shown.contains("example-secret"),
            "{shown}"
        );
    }
    // The embedded default is config/quickstart.toml.
    config::load_with_env(&ConfigSource::Quickstart, vec![]).unwrap();
}

// The real binary: exit status 2 and one line on stderr.

fn assert_exit_2_naming(output: &std::process::Output, file: &Path, key: &str) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert_eq!(stdout(output), "");
    let line = err.trim_end();
    assert!(!line.contains('\n'), "more than one line: {err}");
    assert!(
        line.starts_with(&format!(
            "taxii-relay: config error in {}: ",
            file.display()
        )),
        "{err}"
    );
    assert_contains(line, key);
    line.to_owned()
}

#[tokio::test]
async fn config_binary_bad_config_exits_2() {
    let dir = Dir::new();
    let file = dir.write(
        "relay.toml",
        &format!("{COLLECTION}urll = \"https://x.example.org/\"\n"),
    );
    for command in ["check-config", "run", "status", "migrate"] {
        let output = relay(&file, &[command]).await;
        assert_exit_2_naming(&output, &file, "key `collections[0].urll`: unknown key");
    }
    let file = dir.write(
        "durations.toml",
        &format!("{COLLECTION}poll_interval = \"five minutes\"\n"),
    );
    let output = relay(&file, &["run", "--once"]).await;
    assert_exit_2_naming(&output, &file, "key `collections[0].poll_interval`");
}

#[tokio::test]
async fn config_binary_missing_file_exits_2() {
    let dir = Dir::new();
    let file = dir.path("absent.toml");
    let output = relay(&file, &["check-config"]).await;
    assert_exit_2_naming(&output, &file, "cannot read the file");
}

#[tokio::test]
async fn config_binary_bad_env_override_exits_2() {
    let dir = Dir::new();
    let file = dir.write("relay.toml", "[store]\nurl = \"sqlite://x.db\"\n");
    let output = relay_command(&file, &["check-config"])
        .env("TAXII_RELAY__STORE__MAX_CONNECTIONS", "lots")
        .output()
        .await
        .unwrap();
    let line = assert_exit_2_naming(&output, &file, "key `store.max_connections`");
    assert_contains(&line, "TAXII_RELAY__STORE__MAX_CONNECTIONS");

    let output = relay_command(&file, &["check-config"])
        .env("TAXII_RELAY__LOG__LEVEL", "debug")
        .env("TAXII_RELAY__STORE__URL", "sqlite://from-env.db")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let shown = stdout(&output);
    assert_contains(&shown, "level = \"debug\"");
    assert_contains(&shown, "sqlite://from-env.db");
}

#[test]
fn config_binary_taxii_relay_config_selects_the_file() {
    let dir = Dir::new();
    let good = dir.write(
        "good.toml",
        &COLLECTION.replace("\"c\"", "\"picked-by-env\""),
    );
    let bad = dir.write("bad.toml", "nonsense = 1\n");
    let run = |env_file: &Path, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_taxii-relay"))
            .args(args)
            .env("TAXII_RELAY_CONFIG", env_file)
            .env_remove("RUST_LOG")
            .output()
            .expect("run taxii-relay")
    };

    let output = run(&good, &["check-config"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let shown = stdout(&output);
    assert_contains(&shown, &good.display().to_string());
    assert_contains(&shown, "picked-by-env");

    let output = run(&bad, &["check-config"]);
    assert_exit_2_naming(&output, &bad, "key `nonsense`");

    // --config wins over the variable.
    let output = run(&bad, &["--config", good.to_str().unwrap(), "check-config"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_contains(&stdout(&output), "picked-by-env");
}

#[tokio::test]
async fn config_binary_check_config_redacts_secrets() {
    let dir = Dir::new();
    let file = dir.write("relay.toml", &secret_config(&dir, ""));
    let output = relay_command(&file, &["check-config"])
        .env(PASSWORD_VAR, PASSWORD)
        .output()
        .await
        .unwrap();
    let shown = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_no_secret(&shown);
    assert_no_secret(&stderr(&output));
    assert_contains(&shown, "REDACTED");
    assert_contains(&shown, PASSWORD_VAR);
    assert_contains(&shown, "name = \"splunk\"");

    // The same file with a mistake elsewhere: exit 2, no secret.
    let file = dir.write(
        "bad.toml",
        &secret_config(&dir, "[log]\nformat = \"xml\"\n"),
    );
    let output = relay_command(&file, &["check-config"])
        .env(PASSWORD_VAR, PASSWORD)
        .output()
        .await
        .unwrap();
    assert_exit_2_naming(&output, &file, "key `log.format`");
    assert_no_secret(&stderr(&output));
}
