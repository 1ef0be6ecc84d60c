//! `chanrac hub …`: the analyst's commands, as a client of a running `chanrac serve` (so
//! that every action goes through the API's roles, audit log and in-memory registers).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// The hub's report queue, watch list, Do-Not-Call register and advertisers.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  chanrac hub watchlist                                    # proposals and the watch list
  chanrac hub reports --source 0912345678                  # what subscribers reported about a number
  chanrac hub confirm 0912345678 --reason \"loan spam, 7 reporters\"   # block it; reports become training data
  chanrac hub reject VIETTEL --reason \"customer care, not spam\"
  chanrac hub training --out confirmed.tsv                 # confirmed reports for `chanrac train`
  chanrac hub dnc import numbers.csv                       # lines number[,all|sms|calls|none]
  chanrac hub dnc export --out dnc.csv
  chanrac hub dnc scrub campaign.txt                       # the numbers of the file that must not get ads
  chanrac hub advertiser add QC-0001 \"FPT Retail\" --reason \"licence 12/2026\"
  chanrac hub brandname add QC-0001 FPTSHOP --operators viettel,vinaphone --reason declared
  chanrac hub keywords mine                                # mine the confirmed reports into the queue
  chanrac hub keywords list [--status approved]            # the proposals (pending by default)
  chanrac hub keywords approve 12 --reason \"campaign word, 0 ham\"   # joins the rule pack, through the feed
  chanrac hub keywords reject 12 --reason \"brand name\"      # an approved one is revoked

The server is --server (default http://127.0.0.1:8080, or CHANRAC_SERVER); the API key is
CHANRAC_API_KEY (none in development mode). See docs/hub.md.")]
pub struct HubArgs {
    /// The server's address (default: CHANRAC_SERVER, else http://127.0.0.1:8080).
    #[arg(long, global = true)]
    server: Option<String>,
    /// Print the server's JSON answer instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: HubCommand,
}

#[derive(Debug, Subcommand)]
enum HubCommand {
    /// List reports, newest first (the report queue).
    Reports {
        /// About this source (number or brandname, any form).
        #[arg(long)]
        source: Option<String>,
        /// open, confirmed or rejected.
        #[arg(long)]
        status: Option<String>,
        /// spam, call, fraud or unparsed.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The proposals and the watch list (or the sources of one status).
    Watchlist {
        /// reported, watch, proposed, confirmed or rejected.
        #[arg(long)]
        status: Option<String>,
    },
    /// Confirm a reported source: it goes on the block list and its reports become training data.
    Confirm {
        /// The source (number or brandname).
        source: String,
        /// Why (the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Reject a proposal.
    Reject {
        /// The source.
        source: String,
        /// Why (the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Write the confirmed reports as labeled data (`label<TAB>text`) for `chanrac train`.
    Training {
        /// The file (standard output by default).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The Do-Not-Call register.
    Dnc {
        #[command(subcommand)]
        command: DncCommand,
    },
    /// The advertiser register.
    Advertiser {
        #[command(subcommand)]
        command: AdvertiserCommand,
    },
    /// Brandnames of advertisers.
    Brandname {
        #[command(subcommand)]
        command: BrandnameCommand,
    },
    /// Keyword proposals mined from the confirmed reports, and the rule pack of approved ones.
    Keywords {
        #[command(subcommand)]
        command: KeywordsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeywordsCommand {
    /// Mine the confirmed reports against the server's ham baseline into the queue.
    Mine,
    /// List proposals, best z-score first.
    List {
        /// proposed (the default), approved, rejected, or all.
        #[arg(long, default_value = "proposed")]
        status: String,
    },
    /// Approve a proposal: a new rule-pack version, in effect at once and sent through the feed.
    Approve {
        /// The proposal's id.
        id: i64,
        /// Why (the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Reject a proposal (an approved one is revoked: a new version without it).
    Reject {
        /// The proposal's id.
        id: i64,
        /// Why (the audit log).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum DncCommand {
    /// Import lines `number[,scope]` (scope all, sms, calls, or none to remove) in one
    /// transaction: one bad line refuses the file.
    Import {
        /// The file.
        file: PathBuf,
    },
    /// Write the register as `number,scope` lines.
    Export {
        /// The file (standard output by default).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the numbers of a file (one per line, any form) that must not get ads.
    Scrub {
        /// The file.
        file: PathBuf,
        /// sms or calls.
        #[arg(long, default_value = "sms")]
        channel: String,
    },
    /// A number's registration and history.
    Show {
        /// The number.
        number: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdvertiserCommand {
    /// List advertisers and brandnames.
    List,
    /// Create or update an advertiser.
    Add {
        /// The management code.
        code: String,
        /// The name.
        name: String,
        /// active, suspended or revoked.
        #[arg(long, default_value = "active")]
        status: String,
        /// Why (the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Declare a number the advertiser sends from: its `FW` copies by SMS carry its
    /// brandname.
    Number {
        /// The advertiser's code.
        code: String,
        /// The number, in any form.
        number: String,
        /// Why (the audit log).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum BrandnameCommand {
    /// Declare or update a brandname of an advertiser.
    Add {
        /// The advertiser's code.
        advertiser: String,
        /// The brandname.
        name: String,
        /// The operators it is declared on, comma-separated.
        #[arg(long, value_delimiter = ',')]
        operators: Vec<String>,
        /// active, suspended or revoked.
        #[arg(long, default_value = "active")]
        status: String,
        /// Why (the audit log).
        #[arg(long)]
        reason: String,
    },
}

/// A client of the server's API.
struct Client {
    base: String,
    key: Option<String>,
    http: reqwest::Client,
}

impl Client {
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<String> {
        let req = match &self.key {
            Some(k) => req.bearer_auth(k),
            None => req,
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {} ({what})", self.base))?;
        let status = resp.status();
        let text = resp.text().await.context("the server's answer was cut")?;
        if !status.is_success() {
            let msg = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            bail!("{what}: the server answered {status}: {msg}");
        }
        Ok(text)
    }

    async fn get(&self, path: &str) -> Result<String> {
        self.send(self.http.get(format!("{}{path}", self.base)), path).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<String> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body), path)
            .await
    }

    async fn json(&self, text: String) -> Result<Value> {
        serde_json::from_str(&text).context("the server's answer is not JSON")
    }
}

/// Runs a `chanrac hub` command.
pub fn run(args: HubArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(run_async(args))
}

fn write_out(out: Option<&PathBuf>, text: &str) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => std::io::stdout().write_all(text.as_bytes()).context("cannot write"),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.replace(['\t', '\n'], " "),
        other => other.to_string(),
    }
}

/// Prints rows of objects as tab-separated columns.
fn table(rows: &Value, cols: &[&str]) {
    println!("{}", cols.join("\t"));
    for r in rows.as_array().into_iter().flatten() {
        let line: Vec<String> = cols.iter().map(|c| cell(&r[*c])).collect();
        println!("{}", line.join("\t"));
    }
}

async fn run_async(args: HubArgs) -> Result<ExitCode> {
    let c = Client {
        base: args
            .server
            .clone()
            .or_else(|| std::env::var("CHANRAC_SERVER").ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_string(),
        key: std::env::var("CHANRAC_API_KEY").ok().filter(|k| !k.is_empty()),
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .context("cannot build the HTTP client")?,
    };
    let print = |text: &str, v: &Value, key: &str, cols: &[&str]| {
        if args.json {
            println!("{text}");
        } else {
            table(&v[key], cols);
        }
    };
    match args.command {
        HubCommand::Reports {
            source,
            status,
            kind,
            limit,
        } => {
            let mut q = format!("/v1/reports?limit={limit}");
            for (k, v) in [("source", source), ("status", status), ("kind", kind)] {
                if let Some(v) = v {
                    q.push_str(&format!("&{k}={}", enc(&v)));
                }
            }
            let text = c.get(&q).await?;
            let v = c.json(text.clone()).await?;
            print(
                &text,
                &v,
                "reports",
                &[
                    "id",
                    "at",
                    "kind",
                    "source_key",
                    "reporter",
                    "status",
                    "counted",
                    "content",
                ],
            );
        }
        HubCommand::Watchlist { status } => {
            let q = status.map_or("/v1/watchlist".to_string(), |s| {
                format!("/v1/watchlist?status={}", enc(&s))
            });
            let text = c.get(&q).await?;
            let v = c.json(text.clone()).await?;
            print(
                &text,
                &v,
                "sources",
                &["key", "status", "reporters", "reports", "last_at", "decided_by"],
            );
        }
        HubCommand::Keywords { command } => keywords(&c, command, args.json).await?,
        HubCommand::Confirm { source, reason } => decide(&c, &source, "confirm", &reason, args.json).await?,
        HubCommand::Reject { source, reason } => decide(&c, &source, "reject", &reason, args.json).await?,
        HubCommand::Training { out } => {
            let mut tsv = String::from("label\ttext\n");
            let mut before = i64::MAX;
            loop {
                let v = c
                    .json(
                        c.get(&format!("/v1/reports?status=confirmed&limit=1000&before={before}"))
                            .await?,
                    )
                    .await?;
                let page = v["reports"].as_array().cloned().unwrap_or_default();
                if page.is_empty() {
                    break;
                }
                for r in &page {
                    before = before.min(r["id"].as_i64().unwrap_or(0));
                    let text = cell(&r["content"]);
                    if text.trim().is_empty() {
                        continue;
                    }
                    let label = if r["kind"] == "fraud" { "scam" } else { "spam" };
                    tsv.push_str(&format!("{label}\t{text}\n"));
                }
            }
            write_out(out.as_ref(), &tsv)?;
        }
        HubCommand::Dnc { command } => match command {
            DncCommand::Import { file } => {
                let body = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let req = c
                    .http
                    .post(format!("{}/v1/dnc/import", c.base))
                    .header("content-type", "text/csv")
                    .body(body);
                let text = c.send(req, "/v1/dnc/import").await?;
                let v = c.json(text.clone()).await?;
                if args.json {
                    println!("{text}");
                } else {
                    println!("{} lines read, {} numbers changed", v["lines"], v["changed"]);
                }
            }
            DncCommand::Export { out } => write_out(out.as_ref(), &c.get("/v1/dnc/export").await?)?,
            DncCommand::Scrub { file, channel } => {
                let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let numbers: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                let answer = c
                    .post("/v1/dnc/scrub", json!({"numbers": numbers, "channel": channel}))
                    .await?;
                let v = c.json(answer.clone()).await?;
                if args.json {
                    println!("{answer}");
                } else {
                    for n in v["do_not_contact"].as_array().into_iter().flatten() {
                        println!("{}", cell(n));
                    }
                    let invalid = v["invalid"].as_array().map_or(0, Vec::len);
                    eprintln!(
                        "{} checked, {} must not be contacted, {invalid} not numbers",
                        v["checked"],
                        v["do_not_contact"].as_array().map_or(0, Vec::len)
                    );
                }
            }
            DncCommand::Show { number } => {
                let text = c.get(&format!("/v1/dnc/numbers/{}", enc(&number))).await?;
                let v = c.json(text.clone()).await?;
                if args.json {
                    println!("{text}");
                } else {
                    println!("{}  sms: {}  calls: {}", cell(&v["number"]), v["sms"], v["calls"]);
                    table(&v["history"], &["at", "action", "scope", "before", "after", "via"]);
                }
            }
        },
        HubCommand::Advertiser { command } => match command {
            AdvertiserCommand::List => {
                let text = c.get("/v1/advertisers").await?;
                let v = c.json(text.clone()).await?;
                if args.json {
                    println!("{text}");
                } else {
                    table(&v["advertisers"], &["code", "name", "status"]);
                    println!();
                    table(&v["brandnames"], &["name", "advertiser", "operators", "status"]);
                    println!();
                    table(&v["numbers"], &["number", "advertiser"]);
                }
            }
            AdvertiserCommand::Number { code, number, reason } => {
                let body = json!({"number": number, "reason": reason});
                let path = format!("/v1/advertisers/{}/numbers", enc(&code));
                println!("{}", c.post(&path, body).await?);
            }
            AdvertiserCommand::Add {
                code,
                name,
                status,
                reason,
            } => {
                let body = json!({"code": code, "name": name, "status": status, "reason": reason});
                println!("{}", c.post("/v1/advertisers", body).await?);
            }
        },
        HubCommand::Brandname {
            command:
                BrandnameCommand::Add {
                    advertiser,
                    name,
                    operators,
                    status,
                    reason,
                },
        } => {
            let body = json!({"name": name, "operators": operators, "status": status, "reason": reason});
            let path = format!("/v1/advertisers/{}/brandnames", enc(&advertiser));
            println!("{}", c.post(&path, body).await?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Confirms or rejects a source and says what happened.
async fn decide(c: &Client, source: &str, decision: &str, reason: &str, as_json: bool) -> Result<()> {
    let text = c
        .post(
            &format!("/v1/watchlist/{}/{decision}", enc(source)),
            json!({"reason": reason}),
        )
        .await?;
    let v = c.json(text.clone()).await?;
    if as_json {
        println!("{text}");
    } else {
        println!("{} {}", cell(&v["source"]["key"]), cell(&v["source"]["status"]));
        if let Some(list) = v["blocked"].as_str() {
            println!("added to the block list ({list})");
        }
    }
    Ok(())
}

async fn keywords(c: &Client, command: KeywordsCommand, json_out: bool) -> Result<()> {
    let text = match &command {
        KeywordsCommand::Mine => c.post("/v1/keywords/mine", json!({})).await?,
        KeywordsCommand::List { status } => {
            let q = if status == "all" {
                String::new()
            } else {
                format!("&status={}", enc(status))
            };
            c.get(&format!("/v1/keywords/proposals?limit=1000{q}")).await?
        }
        KeywordsCommand::Approve { id, reason } | KeywordsCommand::Reject { id, reason } => {
            let decision = if matches!(command, KeywordsCommand::Approve { .. }) {
                "approve"
            } else {
                "reject"
            };
            c.post(
                &format!("/v1/keywords/proposals/{id}/{decision}"),
                json!({"reason": reason}),
            )
            .await?
        }
    };
    if json_out {
        println!("{text}");
        return Ok(());
    }
    let v = c.json(text).await?;
    match command {
        KeywordsCommand::Mine => println!(
            "{} proposals from {} confirmed reports against {} ham: {} new, {} updated, {} already decided",
            v["proposals"],
            v["spam"].as_u64().unwrap_or(0) + v["scam"].as_u64().unwrap_or(0),
            v["ham"],
            v["merged"]["added"],
            v["merged"]["updated"],
            v["merged"]["decided"]
        ),
        KeywordsCommand::List { .. } => {
            match v["pack"]["version"].as_i64() {
                Some(n) => eprintln!(
                    "rule pack v{n}: {} keywords",
                    v["pack"]["keywords"].as_array().map_or(0, Vec::len)
                ),
                None => eprintln!("no rule pack yet"),
            }
            table(
                &v["proposals"],
                &[
                    "id",
                    "phrase",
                    "label",
                    "z",
                    "unwanted_docs",
                    "ham_docs",
                    "ham_rate_upper",
                    "adds_docs",
                    "status",
                    "decided_by",
                    "reason",
                ],
            );
        }
        KeywordsCommand::Approve { .. } | KeywordsCommand::Reject { .. } => {
            let p = &v["proposal"];
            match v["pack"]["version"].as_i64() {
                Some(n) => println!(
                    "{} is {}; rule pack v{n} is in effect and in the feed",
                    cell(&p["phrase"]),
                    cell(&p["status"])
                ),
                None => println!(
                    "{} is {} (no change to the rule pack)",
                    cell(&p["phrase"]),
                    cell(&p["status"])
                ),
            }
        }
    }
    Ok(())
}
