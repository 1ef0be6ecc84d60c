//! `chanrac serve` and `chanrac config`: the HTTP server, and its configuration checked or
//! documented offline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chanrac_server::Config;
use clap::{Args, Subcommand};

/// Run the firewall's HTTP API.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  chanrac serve                                   # 127.0.0.1:8080, files in ./data, no keys (development)
  chanrac serve --config config/chanrac.toml
  chanrac serve --smpp 127.0.0.1:2775 --upstream smsc.example.net:2775   # also the SMPP firewall
  CHANRAC_STORE__RECORDS=postgres CHANRAC_STORE__POSTGRES_URL='host=127.0.0.1 user=postgres dbname=chanrac' \\
    chanrac serve --http 127.0.0.1:8081

Then:
  curl -s localhost:8080/v1/check -d '{\"sender\":\"0912345678\",\"text\":\"Trúng thưởng 50tr tại https://vtb-qua.xyz\"}'
  curl -s localhost:8080/openapi.json        # every endpoint
  curl -s localhost:8080/metrics             # Prometheus

Without API keys in the configuration the server runs in development mode (no key needed),
which it allows only on a loopback address. SIGHUP or POST /v1/reload reloads rules, policy
and lists; SIGTERM drains requests in flight and stops. The configuration reference is
docs/config.md; the API is in docs/api.md and /openapi.json.")]
pub struct ServeArgs {
    /// The configuration file (TOML); built-in defaults when absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen here (overrides server.http).
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Keep files here (overrides server.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Run the SMPP firewall, ESMEs binding here (overrides smpp.listen; default
    /// 127.0.0.1:2775 when only --upstream is given).
    #[arg(long, value_name = "ADDR")]
    smpp: Option<String>,
    /// The SMSC the SMPP firewall forwards to, HOST:PORT (overrides smpp.upstream.address).
    #[arg(long, value_name = "HOST:PORT")]
    upstream: Option<String>,
}

/// Check or document the configuration.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file offline: its keys, the rule packs, policy and list
    /// files it names. Starts nothing and touches no store.
    Check {
        /// The file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the configuration reference (docs/config.md) from the code's doc comments.
    Docs,
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    crate::init_logs();
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(h) = args.http {
        config.server.http = h;
    }
    if let Some(d) = args.data_dir {
        config.server.data_dir = d;
    }
    if args.smpp.is_some() || args.upstream.is_some() {
        let smpp = config.smpp.get_or_insert_with(Default::default);
        if let Some(l) = args.smpp {
            smpp.listen = l;
        }
        if let Some(u) = args.upstream {
            smpp.upstream.address = u;
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(chanrac_server::run(config, std::future::pending()))?;
    Ok(ExitCode::SUCCESS)
}

pub fn config(args: ConfigArgs) -> Result<ExitCode> {
    match args.command {
        ConfigCommand::Check { file } => {
            let config = Config::load(Some(&file))?;
            let engine = chanrac_server::state::build_engine(
                &config.engine,
                config.store.counters != chanrac_server::config::CountersBackend::None,
            )
            .map_err(anyhow::Error::msg)?;
            if let Some(dir) = &config.engine.lists {
                chanrac_core::Lists::load_dir(dir).with_context(|| format!("engine.lists = {}", dir.display()))?;
            }
            chanrac_server::auth::Keys::new(&config.api_keys).map_err(anyhow::Error::msg)?;
            println!(
                "{}: ok — listens on {}, {} rules, store {:?}, {} API keys{}",
                file.display(),
                config.server.http,
                engine.rules().rules().len(),
                config.store.records,
                config.api_keys.len(),
                if config.api_keys.is_empty() && !config.server.http.ip().is_loopback() {
                    " (but without keys it will refuse to start on a non-loopback address)"
                } else {
                    ""
                }
            );
        }
        ConfigCommand::Docs => print!("{}", chanrac_server::config::reference()),
        ConfigCommand::Openapi => println!("{}", chanrac_server::openapi_json()),
    }
    Ok(ExitCode::SUCCESS)
}
