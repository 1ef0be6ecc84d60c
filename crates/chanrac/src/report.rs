//! `chanrac report`: the ministry's report over a period, read from a node's store (the one
//! `chanrac serve` with the same `--config` / `--data-dir` uses). docs/report.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chanrac_hub::ministry::{self, Format, Period, Step};
use chanrac_server::Config;
use chanrac_server::config::RecordsBackend;
use clap::{ArgGroup, Args};

/// `chanrac report`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("period").required(true).args(["from", "quarter", "half"])))]
#[command(after_help = "\
Examples:
  chanrac report --quarter 2026Q3 --format html --out q3.html
  chanrac report --half 2026H2 --format md
  chanrac report --from 2026-07-01 --to 2026-09-30 --format csv --config config/chanrac.toml
  chanrac report --quarter 2026Q3 --format json --data-dir /var/lib/chanrac

Days are Vietnam time, both ends included. A running server writes its counts to the store
every server.stats_flush_secs; GET /v1/report (role regulator) flushes first.")]
pub struct ReportArgs {
    /// The first day (YYYY-MM-DD), with --to.
    #[arg(long, value_name = "DATE", requires = "to")]
    from: Option<String>,
    /// The last day, included.
    #[arg(long, value_name = "DATE", requires = "from")]
    to: Option<String>,
    /// A quarter: 2026Q3.
    #[arg(long, value_name = "YYYYQn")]
    quarter: Option<String>,
    /// A half year: 2026H2.
    #[arg(long, value_name = "YYYYHn")]
    half: Option<String>,
    /// md, html (with SVG charts), csv or json.
    #[arg(long, default_value = "md")]
    format: String,
    /// The trend's step: day or week (default: days up to 62 days, else weeks).
    #[arg(long)]
    step: Option<String>,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The node's configuration file, for its store (SQLite in data_dir, or PostgreSQL).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The node's data directory (overrides server.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let period = match (&args.from, &args.to, &args.quarter, &args.half) {
        (Some(f), Some(t), _, _) => Period::dates(f, t)?,
        (_, _, Some(q), _) if q.to_ascii_uppercase().contains('Q') => Period::preset(q)?,
        (_, _, _, Some(h)) if h.to_ascii_uppercase().contains('H') => Period::preset(h)?,
        (_, _, Some(q), _) => anyhow::bail!("--quarter {q:?} is not a quarter: use 2026Q3"),
        (_, _, _, Some(h)) => anyhow::bail!("--half {h:?} is not a half year: use 2026H2"),
        _ => anyhow::bail!("give a period: --from and --to, --quarter or --half"),
    };
    let format = Format::parse(&args.format)?;
    let step = match &args.step {
        Some(s) => Step::parse(s)?,
        None => Step::for_period(&period),
    };
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(d) = args.data_dir {
        config.server.data_dir = d;
    }
    // A report reads what is there: it does not make an empty store where there is none.
    if config.store.records == RecordsBackend::Sqlite && !config.sqlite_path().exists() {
        anyhow::bail!(
            "no store at {} (give the node's --data-dir or --config)",
            config.sqlite_path().display()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let figures = runtime.block_on(async {
        let records = chanrac_server::state::open_records(&config).await?;
        chanrac_server::report::gather(&records, period, step, Some(now))
            .await
            .context("cannot read the statistics")
    })?;
    let text = ministry::render(&figures, format);
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "{}: {} messages checked, {} blocked; {} call records; {} reports",
                path.display(),
                figures.messages.checked,
                figures.messages.blocked,
                figures.calls.checked,
                figures.reports.received
            );
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(text.as_bytes())
                .context("cannot write the report")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
