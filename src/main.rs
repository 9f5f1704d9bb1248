//! The `taxii-relay` command line: parses arguments, loads the config, starts logging, calls the library.
//! Exit status: 0 success, 1 runtime failure, 2 bad arguments or config.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use taxii_relay::commands::{self, Format};
use taxii_relay::config::{self, LogFormat, TaxiiVersion};
use url::Url;

#[derive(Parser)]
#[command(
    name = "taxii-relay",
    version,
    about = "Polls TAXII collections, stores STIX with a persisted cursor, delivers it with TLP enforced"
)]
struct Cli {
    /// Config file (TOML). Without it, the embedded quickstart config.
    #[arg(long, global = true, env = "TAXII_RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// Overrides [log] format.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormatArg>,
    /// Overrides [log] level (a level or an EnvFilter directive).
    #[arg(long, global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    Json,
    Pretty,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum VersionArg {
    #[value(name = "2.1")]
    V21,
    #[value(name = "2.0")]
    V20,
}

#[derive(Subcommand)]
enum Command {
    /// Run the relay: poll every collection on its interval until SIGINT/SIGTERM.
    Run {
        /// Poll each collection to the end once, then exit (0 if every poll succeeded).
        #[arg(long)]
        once: bool,
    },
    /// Discover a TAXII server: API roots, collections, can_read/can_write.
    Discover {
        /// Discovery URL (`…/taxii2/`, `…/taxii/`) or API root URL.
        url: Url,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// TAXII version to speak (default: the configured collection's on that server, else 2.1).
        #[arg(long, value_enum)]
        taxii_version: Option<VersionArg>,
    },
    /// Cursors, lag, last success and error, objects and quarantine per collection.
    Status {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Re-enqueue stored objects for one sink (its types and TLP ceiling apply).
    Replay {
        #[arg(long)]
        sink: String,
        /// Only objects first seen at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only the sink's dead deliveries.
        #[arg(long)]
        dead: bool,
    },
    /// Apply database migrations (run also does this at start).
    Migrate,
    /// Load and validate the config, print it with secrets redacted.
    CheckConfig,
    /// Validate STIX files offline (exit 0 all valid, 1 any invalid). Needs no config.
    Validate {
        #[arg(long, value_enum, default_value = "text")]
        format: commands::ValidateFormat,
        /// Bundles or objects; `-` for standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Current indicators whose pattern compares OBSERVABLE_TYPE to VALUE (exit 1 when none).
    Lookup {
        /// `ipv4-addr`, `domain-name`, … (any property), or exact: `file:hashes.'SHA-256'`.
        observable_type: String,
        value: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// An object's neighbourhood over relationships.
    Context {
        id: String,
        /// Hops out from the object.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Send STIX bundles from files (or `-` for stdin) through the pipeline.
    Ingest {
        /// Collection the objects are attributed to.
        #[arg(long, default_value = "ingest")]
        collection: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Offline validation needs neither config nor runtime.
    if let Command::Validate { format, files } = &cli.command {
        return match commands::validate(files, *format) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("taxii-relay: error: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let source = config::source_from(cli.config.as_deref());
    let settings = match config::load(&source) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("taxii-relay: {e}");
            return ExitCode::from(2);
        }
    };
    let format = match cli.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Pretty) => LogFormat::Pretty,
        None => settings.log.format,
    };
    taxii_relay::telemetry::init(
        format,
        cli.log_level.as_deref().unwrap_or(&settings.log.level),
    );

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("taxii-relay: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run { once } => commands::run(&settings, once).await,
            Command::Discover {
                url,
                format,
                taxii_version,
            } => {
                let version = taxii_version.map(|v| match v {
                    VersionArg::V21 => TaxiiVersion::V21,
                    VersionArg::V20 => TaxiiVersion::V20,
                });
                commands::discover(&settings, &url, version, format).await
            }
            Command::Status { format } => commands::status(&settings, format).await,
            Command::Replay { sink, since, dead } => {
                commands::replay(&settings, &sink, since, dead).await
            }
            Command::Migrate => commands::migrate(&settings).await,
            Command::CheckConfig => Ok(commands::check_config(&settings, &source.display_name())),
            Command::Validate { .. } => unreachable!("handled before the config is loaded"),
            Command::Lookup {
                observable_type,
                value,
                format,
            } => commands::lookup(&settings, &observable_type, &value, format).await,
            Command::Context { id, depth, format } => {
                commands::context(&settings, &id, depth, format).await
            }
            Command::Ingest { collection, files } => {
                commands::ingest(&settings, &collection, &files).await
            }
        }
    });
    // Blocking work still running (a file sink stuck on a dead NFS mount) must not hold the exit: the
    // command has returned, and everything that matters is committed.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("taxii-relay: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
