//! E-mail input for `check --email` and `scan --format mbox|eml-dir`: reading files and
//! mbox streams in bounded memory; the parsing itself is `chanrac-mail`'s.
//!
//! The reader thread of `scan` only splits the input into raw messages (cheap, and bounded
//! by the size limit); each worker parses its own ([`prepare`]), so parsing runs on every
//! core like checking does.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chanrac_core::email::{EmailFacts, Problem, ProblemKind};
use chanrac_core::{Category, Channel, Message};
use chanrac_mail::Reader;
use chanrac_mail::mbox::Mbox;
use indicatif::ProgressBar;

use crate::input::{BATCH, OnInvalid, Row};

/// The limits an e-mail is read within (docs/email.md, "MIME bombs and hostile input");
/// shared by `check --email` and `scan`. Sizes take `K`, `M` or `G` (powers of 1024).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "E-mail limits")]
pub struct MailLimitArgs {
    /// The most bytes of an e-mail read; past it, EMAIL_TRUNCATED and the rest is skipped.
    #[arg(long, value_name = "SIZE", default_value = "25M", value_parser = parse_size)]
    pub email_max_bytes: usize,
    /// The most MIME parts; more is EMAIL_MIME_BOMB and the message is cut before the next one.
    #[arg(long, value_name = "N", default_value_t = chanrac_mail::Limits::default().max_parts as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub email_max_parts: u32,
    /// The deepest nesting of parts whose text is read; deeper is EMAIL_MIME_BOMB.
    #[arg(long, value_name = "N", default_value_t = chanrac_mail::Limits::default().max_depth as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub email_max_depth: u32,
    /// The largest text or HTML part read; larger is EMAIL_MIME_BOMB and its start is read.
    #[arg(long, value_name = "SIZE", default_value = "2M", value_parser = parse_size)]
    pub email_max_part_bytes: usize,
}

impl MailLimitArgs {
    /// The reader's limits.
    pub fn limits(&self) -> chanrac_mail::Limits {
        // The same settings as the server's `[email]` section.
        chanrac_server::config::EmailSection {
            max_bytes: self.email_max_bytes,
            max_parts: self.email_max_parts as usize,
            max_depth: self.email_max_depth as usize,
            max_part_bytes: self.email_max_part_bytes,
        }
        .limits()
    }

    /// A reader with these limits.
    pub fn reader(&self) -> Reader {
        Reader::new(self.limits())
    }
}

/// Parses a size: bytes, or a number with `K`, `M` or `G` (1024, 1024², 1024³; `KiB`,
/// `MB` and the like are read the same); at least 1 KiB.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (bytes, or a number with K, M or G)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("{s:?}: unknown unit {other:?} (use K, M or G)")),
    };
    let bytes = n
        .checked_mul(1usize << shift)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if bytes < 1024 {
        return Err(format!("{s:?} is below the smallest limit, 1K"));
    }
    Ok(bytes)
}

/// An e-mail not parsed yet.
#[derive(Debug)]
pub struct RawEmail {
    /// The message, up to the size limit.
    pub bytes: Vec<u8>,
    /// Its whole length, when it was cut.
    pub full_len: Option<u64>,
}

/// Reads one e-mail file (`-`: standard input) into a message.
pub fn read_file(path: &Path, reader: &Reader) -> Result<Message> {
    let name = path.display().to_string();
    let (bytes, full_len) = if path.as_os_str() == "-" {
        read_bounded(std::io::stdin().lock(), reader.limits().max_bytes).context("cannot read standard input")?
    } else {
        let f = File::open(path).with_context(|| format!("cannot open {name}"))?;
        read_bounded(f, reader.limits().max_bytes).with_context(|| format!("cannot read {name}"))?
    };
    reader
        .read_cut(&bytes, full_len)
        .with_context(|| format!("{name} is not an e-mail"))
}

/// Reads up to `max` bytes, then counts the rest without keeping it.
fn read_bounded(mut r: impl Read, max: usize) -> std::io::Result<(Vec<u8>, Option<u64>)> {
    let mut bytes = Vec::new();
    (&mut r).take(max as u64).read_to_end(&mut bytes)?;
    let rest = std::io::copy(&mut r, &mut std::io::sink())?;
    Ok((bytes, (rest > 0).then_some(max as u64 + rest)))
}

/// Parses a row's raw e-mail into its message (a no-op for other rows, or when done before).
pub fn prepare(row: &mut Row, reader: &Reader) {
    let Some(raw) = row.email.take() else { return };
    row.msg = match reader.read_cut(&raw.bytes, raw.full_len) {
        Ok(m) => m,
        // The reader thread checked that the input starts like an e-mail; should the parser
        // still find nothing, the message is checked empty and says why.
        Err(e) => Message {
            channel: Channel::Email,
            email: Some(Box::new(EmailFacts {
                problems: vec![Problem::new(ProblemKind::BadEncoding, e.to_string())],
                ..Default::default()
            })),
            ..Default::default()
        },
    };
}

fn row(line: u64, bytes: Vec<u8>, full_len: Option<u64>, file: Option<String>, label: Option<Category>) -> Row {
    Row {
        line,
        label,
        msg: Message::default(),
        event: None,
        over_threshold: None,
        state: None,
        email: Some(RawEmail { bytes, full_len }),
        file,
    }
}

/// Reads the messages of an mbox stream, sending batches of rows (each with its `From `
/// line number); returns the number of skipped messages.
pub fn read_mbox(
    reader: BufReader<Box<dyn Read + Send>>,
    name: &str,
    limits: &chanrac_mail::Limits,
    on_invalid: OnInvalid,
    progress: &ProgressBar,
    mut send: impl FnMut(u64, Vec<Row>) -> Result<()>,
) -> Result<u64> {
    let (mut seq, mut skipped) = (0u64, 0u64);
    let mut batch = Vec::with_capacity(BATCH);
    let mut bytes_read = 0u64;
    for mail in Mbox::new(reader, limits.max_bytes) {
        let mail = mail.with_context(|| format!("{name} is not an mbox file"))?;
        bytes_read += mail.cut_from.unwrap_or(mail.bytes.len() as u64);
        if let Err(e) = chanrac_mail::check_start(&mail.bytes) {
            match on_invalid {
                OnInvalid::Skip => {
                    skipped += 1;
                    continue;
                }
                OnInvalid::StopSuggestSkip => {
                    bail!("{name}:{}: {e} (use --skip-invalid to skip such messages)", mail.line)
                }
                OnInvalid::Stop => bail!("{name}:{}: {e}", mail.line),
            }
        }
        batch.push(row(mail.line, mail.bytes, mail.cut_from, None, None));
        if batch.len() == BATCH {
            progress.set_position(bytes_read);
            send(seq, std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))?;
            seq += 1;
        }
    }
    if !batch.is_empty() {
        send(seq, batch)?;
    }
    Ok(skipped)
}

/// Reads every file under a directory (recursively, in name order, hidden files left out),
/// one e-mail per file (`.eml`, Maildir). A file in a directory named `ham`, `ad`, `spam` or
/// `scam` is labeled so. Rows are numbered in reading order and carry their file's path.
pub fn read_eml_dir(
    dir: &Path,
    limits: &chanrac_mail::Limits,
    on_invalid: OnInvalid,
    progress: &ProgressBar,
    mut send: impl FnMut(u64, Vec<Row>) -> Result<()>,
) -> Result<u64> {
    let (mut seq, mut skipped, mut n) = (0u64, 0u64, 0u64);
    let mut batch = Vec::with_capacity(BATCH);
    // Directories still to read, the next one last: one directory's listing at a time.
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(&d)
            .with_context(|| format!("cannot read the directory {}", d.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| {
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                (e.path(), is_dir)
            })
            .collect();
        entries.sort();
        let label = d.file_name().and_then(|n| n.to_str()).and_then(Category::parse);
        let mut subdirs = Vec::new();
        for (path, is_dir) in entries {
            if is_dir {
                subdirs.push(path);
                continue;
            }
            n += 1;
            let shown = path.display().to_string();
            let checked = match File::open(&path).and_then(|f| read_bounded(f, limits.max_bytes)) {
                Err(e) => Err(e.to_string()),
                Ok((b, full)) => match chanrac_mail::check_start(&b) {
                    Ok(_) => Ok((b, full)),
                    Err(e) => Err(e.to_string()),
                },
            };
            match checked {
                Ok((bytes, full)) => batch.push(row(n, bytes, full, Some(shown), label)),
                Err(e) => match on_invalid {
                    OnInvalid::Skip => skipped += 1,
                    OnInvalid::StopSuggestSkip => bail!("{shown}: {e} (use --skip-invalid to skip such files)"),
                    OnInvalid::Stop => bail!("{shown}: {e}"),
                },
            }
            if batch.len() == BATCH {
                progress.set_position(n);
                send(seq, std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))?;
                seq += 1;
            }
        }
        // Pushed in reverse so that they are read in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    if !batch.is_empty() {
        send(seq, batch)?;
    }
    Ok(skipped)
}

#[cfg(test)]
mod limit_tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        mail: MailLimitArgs,
    }

    #[test]
    fn the_flags_default_to_the_readers_limits() {
        let cli = Cli::try_parse_from(["chanrac"]).unwrap();
        assert_eq!(cli.mail.limits(), chanrac_mail::Limits::default());
        let cli =
            Cli::try_parse_from(["chanrac", "--email-max-bytes", "1M", "--email-max-part-bytes", "512K"]).unwrap();
        assert_eq!(
            (cli.mail.limits().max_bytes, cli.mail.limits().max_text_part),
            (1 << 20, 512 << 10)
        );
    }
}
