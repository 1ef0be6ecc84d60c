//! `chanrac sync`: follow a hub's signed list feed into a node's store without running the
//! server (docs/feed.md). The same puller as `[sync]` in `chanrac serve`: a `chanrac serve`
//! on the same store puts what it applies in effect at its next list poll (2 s).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chanrac_server::Config;
use chanrac_server::sync::{Puller, SyncConfig};
use clap::Args;

/// `chanrac sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The hub's base URL (`https://hub.example.vn`).
    #[arg(long, value_name = "URL")]
    hub: String,
    /// This operator's API key at the hub (role operator).
    #[arg(long, value_name = "KEY")]
    key: String,
    /// The hub's feed public key: 64 hex digits or a file holding them (`chanrac feed-key`
    /// on the hub prints it).
    #[arg(long, value_name = "FILE|HEX")]
    hub_public_key: String,
    /// The node's configuration file, for its store (SQLite in data_dir, or PostgreSQL).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The node's data directory (overrides server.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The cursor's name (entries get added_by sync:NAME).
    #[arg(long, default_value = "hub")]
    origin: String,
    /// Pull until caught up, then exit (otherwise follow the feed for ever).
    #[arg(long)]
    once: bool,
}

pub fn run(args: SyncArgs) -> Result<ExitCode> {
    crate::init_logs();
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(d) = args.data_dir {
        config.server.data_dir = d;
    }
    let puller = Puller::new(SyncConfig {
        hub: args.hub,
        key: args.key,
        hub_public_key: args.hub_public_key,
        origin: args.origin,
        wait_secs: 10,
        push_findings: false,
    })
    .map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let records = chanrac_server::state::open_records(&config).await?;
        if !args.once {
            puller.run(&records).await;
        }
        let mut total = 0;
        loop {
            let p = puller.pull_once(&records, false).await.map_err(anyhow::Error::msg)?;
            total += p.changes;
            if !p.more {
                println!("applied {total} changes; cursor {}", p.cursor);
                return Ok(ExitCode::SUCCESS);
            }
        }
    })
}
