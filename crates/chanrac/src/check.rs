//! `chanrac check`: one message, explained.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use chanrac_core::{Message, Metadata, Origin, Verdict};
use clap::{Args, ValueEnum};

use crate::{EngineArgs, parse_time};

/// Check one message.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  chanrac check \"Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz\"
  chanrac check --sender 0912345678 --at 2026-11-22T23:10:00+07:00 \"[QC] Giảm 50% hôm nay\"
  echo \"V.A.Y T1ỀN nhanh\" | chanrac check --json -
  chanrac check --email message.eml               # an e-mail: subject, text parts, headers
  chanrac check --email --json - < message.eml

Output: the action (allow, tag, quarantine, block), the category (ham, ad, spam, scam), the
score and every reason: signal, weight and evidence from the text. --json prints
{\"action\",\"category\",\"score\",\"reasons\":[{\"signal\",\"weight\",\"evidence\"}]}.")]
pub struct CheckArgs {
    /// The message text; `-` reads it from standard input. With --email, the e-mail file.
    #[arg(value_name = "TEXT")]
    text: String,
    /// TEXT names an e-mail file (RFC 5322 / MIME, as a `.eml`; `-` for standard input): the
    /// subject and the text parts are checked (HTML as the reader sees it), with the
    /// e-mail signals (display name, Reply-To, links, Authentication-Results; docs/email.md).
    /// The sender, recipient and time come from From, To and Date unless given.
    #[arg(long)]
    email: bool,
    /// The sender: a number in any Vietnamese or E.164 form, a short code or a brandname.
    #[arg(long)]
    sender: Option<String>,
    /// The recipient number.
    #[arg(long)]
    recipient: Option<String>,
    /// When the message was received (RFC 3339 or Unix seconds); default now. Advertising
    /// hours are judged in Vietnam time (UTC+7).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<i64>,
    /// Where the message entered the network.
    #[arg(long, value_enum)]
    origin: Option<OriginArg>,
    /// When the sender's SIM was activated (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    sim_activated: Option<i64>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    mail: crate::mail::MailLimitArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OriginArg {
    Domestic,
    International,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let engine = args.engine.build()?;
    if args.email {
        let mut msg = crate::mail::read_file(std::path::Path::new(&args.text), &args.mail.reader())?;
        msg.sender = args.sender.or(msg.sender);
        msg.recipient = args.recipient.or(msg.recipient);
        msg.received_at = args
            .at
            .or(msg.received_at)
            .or_else(|| Some(time::OffsetDateTime::now_utc().unix_timestamp()));
        return print(&engine.check(&msg), args.json);
    }
    let text = if args.text == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the text from standard input")?;
        let s = String::from_utf8(buf).context("the text on standard input is not valid UTF-8")?;
        s.trim_end_matches(['\n', '\r']).to_string()
    } else {
        args.text
    };
    let msg = Message {
        sender: args.sender,
        recipient: args.recipient,
        text,
        received_at: Some(
            args.at
                .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp()),
        ),
        meta: Metadata {
            origin: args.origin.map(|o| match o {
                OriginArg::Domestic => Origin::Domestic,
                OriginArg::International => Origin::International,
            }),
            sim_activated_at: args.sim_activated,
            ..Default::default()
        },
        ..Default::default()
    };
    print(&engine.check(&msg), args.json)
}

/// Prints a verdict, in words or as JSON.
fn print(verdict: &Verdict, json: bool) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, verdict)?;
        writeln!(out)?;
    } else {
        write_human(&mut out, verdict)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The human-readable verdict.
fn write_human(out: &mut impl Write, v: &Verdict) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {}  score {:.2}",
        v.action.as_str().to_uppercase(),
        v.category.as_str(),
        v.score
    )?;
    if v.reasons.is_empty() {
        writeln!(out, "  (no signal fired)")?;
    }
    let width = v.reasons.iter().map(|r| r.signal.len()).max().unwrap_or(0);
    for r in &v.reasons {
        writeln!(out, "  {:+6.2}  {:<width$}  {}", r.weight, r.signal, r.evidence)?;
    }
    Ok(())
}
