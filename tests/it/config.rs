use taxii_relay::config::{load_with_env, ConfigSource};

#[test]
fn config_probe() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        "foo = 1\n",
        "[store]\nurl = \"sqlite://x.db\"\nfoo = 1\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\nurll = \"y\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\n[collections.auth]\nkind = \"none\"\nfoo = 1\n",
        "[[sinks]]\nname = \"a\"\nkind = \"file\"\npath = \"/x\"\nfoo = 1\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\npoll_interval = \"5 minutes\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\noverlap = 300\n",
        "[[collections]]\nname = \"a\"\nurl = \"not a url\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"ftp://x/\"\n",
        "[store]\nurl = \"mysql://relay:hunter2@x/db\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\ntaxii_version = \"2.2\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\ntaxii_version = 2.0\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\ndefault_tlp = \"purple\"\n",
        "[[sinks]]\nname = \"a\"\nkind = \"file\"\npath = \"/x\"\nmax_tlp = \"tlp-red\"\n",
        "[log]\nformat = \"xml\"\n",
        "[[sinks]]\nname = \"a\"\nkind = \"kafka\"\n",
        "[store\nurl = 1\n",
        "[store]\nurl = \"postgres://relay:hunter2-secret@127.0.0.1/db\nmax_connections = 3\n",
        "[store]\nurl = \"postgres://relay:hunter2-secret@127.0.0.1/db\"\nmax_connections = 3x\n",
        "[store]\nmax_connections = \"lots\"\n",
        "[store]\nmax_connections = -1\n",
        "shutdown_timeout = 30\n",
        "[http]\nlisten = \"nowhere\"\n",
        "[[collections]]\nurl = \"https://x/\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\ninitial_added_after = 2025-01-01T00:00:00Z\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\ninitial_added_after = \"yesterday\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\ntypes = \"indicator\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\nURL = \"https://y/\"\n",
        "[[collections]]\nname = \"a\"\nurl = \"https://x/\"\n[collections.auth]\nkind = \"oauth\"\n",
        "collections = 3\n",
    ];
    for (i, text) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&path, text).unwrap();
        match load_with_env(&ConfigSource::File(path), vec![]) {
            Ok(s) => println!(
                "{i}: OK {:?}",
                s.collections.first().map(|c| c.initial_added_after)
            ),
            Err(e) => println!("{i}: key={:?}\n   {e}", e.key),
        }
    }
    let path = dir.path().join("env.toml");
    std::fs::write(&path, "[store]\nurl = \"sqlite://x.db\"\n").unwrap();
    for env in [
        vec![("TAXII_RELAY__STORE__MAX_CONNECTIONS", "lots")],
        vec![
            ("TAXII_RELAY__STORE__URL", "postgres://u@h/db"),
            ("TAXII_RELAY__LOG__LEVEL", "debug"),
        ],
        vec![("TAXII_RELAY__FOO", "1")],
        vec![("TAXII_RELAY__SHUTDOWN_TIMEOUT", "1m")],
        vec![("TAXII_RELAY__LOG__LEVEL", "1")],
    ] {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        match load_with_env(&ConfigSource::File(path.clone()), env.clone()) {
            Ok(s) => println!(
                "{env:?}: OK {} {} {:?}",
                s.store.url, s.log.level, s.shutdown_timeout
            ),
            Err(e) => println!("{env:?}: key={:?}\n   {e}", e.key),
        }
    }
}
