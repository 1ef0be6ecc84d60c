//! Reading messages from TSV, CSV and JSON Lines files: shared by `scan`, `train` and `eval`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use chanrac_core::{Category, Message, Metadata, Origin};
use clap::ValueEnum;
use indicatif::ProgressBar;

use crate::parse_time;

/// Rows per batch handed to a worker.
pub const BATCH: usize = 512;

/// An opened input: the reader positioned at the start, its format, its size when known.
pub struct Input {
    /// The reader.
    pub reader: BufReader<Box<dyn Read + Send>>,
    /// The format.
    pub format: Format,
    /// The size in bytes, for a file.
    pub size: Option<u64>,
}

impl Input {
    /// Opens a file (`-` is standard input); the format is `format`, else from the file
    /// name, else guessed from the first line.
    pub fn open(path: &Path, format: Option<Format>) -> Result<Input> {
        let name = path.display().to_string();
        if format == Some(Format::EmlDir) || (format.is_none() && path.is_dir()) {
            // The directory is walked by `read_rows`.
            return Ok(Input {
                reader: BufReader::new(Box::new(std::io::empty())),
                format: Format::EmlDir,
                size: None,
            });
        }
        let (reader, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
            (Box::new(std::io::stdin()), None)
        } else {
            let f = File::open(path).with_context(|| format!("cannot open {name}"))?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        };
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let format = match format.or_else(|| format_from_name(path)) {
            Some(f) => f,
            None => sniff(&mut reader).with_context(|| format!("cannot read {name}"))?,
        };
        Ok(Input { reader, format, size })
    }

    /// Reads every row into memory (for training and evaluation), stopping at the first
    /// invalid row with an error naming the file and line; e-mails are parsed.
    pub fn read_all(self, name: &str) -> Result<Vec<Row>> {
        let mut all = Vec::new();
        read_rows(
            self.reader,
            self.format,
            name,
            &chanrac_mail::Limits::default(),
            OnInvalid::Stop,
            &ProgressBar::hidden(),
            |_, mut rows| {
                // E-mails (mbox, eml-dir) are parsed here: training reads what a check reads.
                let mail = chanrac_mail::Reader::default();
                rows.iter_mut().for_each(|r| crate::mail::prepare(r, &mail));
                all.extend(rows);
                Ok(())
            },
        )?;
        Ok(all)
    }
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tab-separated, no quoting (a tab inside a text is not possible).
    Tsv,
    /// Comma-separated with RFC 4180 quoting.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// An mbox file of e-mails (mboxo or mboxrd); the default for `.mbox` and `.mbx` names.
    Mbox,
    /// A directory of e-mail files (`.eml`, Maildir), read recursively; the default for a
    /// directory.
    EmlDir,
}

/// One input row.
#[derive(Debug)]
pub struct Row {
    /// The line the row starts on (1-based; the header is line 1).
    pub line: u64,
    /// The label, when the file has one.
    pub label: Option<Category>,
    /// The message.
    pub msg: Message,
    /// The injected event it belongs to (generated traffic), or `background`.
    pub event: Option<String>,
    /// Whether that event had passed its threshold.
    pub over_threshold: Option<bool>,
    /// The counters' plan and values (`scan --stateful`).
    pub state: Option<crate::replay::RowState>,
    /// An e-mail still to parse into `msg` (`mbox`, `eml-dir`; see `mail::prepare`).
    pub email: Option<crate::mail::RawEmail>,
    /// The file the row came from (`eml-dir`).
    pub file: Option<String>,
}

pub fn format_from_name(p: &Path) -> Option<Format> {
    match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "tsv" | "tab" => Some(Format::Tsv),
        "csv" => Some(Format::Csv),
        "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
        "mbox" | "mbx" => Some(Format::Mbox),
        _ => None,
    }
}

/// Guesses the format from the first line without consuming it.
fn sniff(r: &mut BufReader<Box<dyn Read + Send>>) -> std::io::Result<Format> {
    let buf = r.fill_buf()?;
    let first = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    Ok(if first.starts_with(b"From ") {
        Format::Mbox
    } else if first.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Format::Jsonl
    } else if first.contains(&b'\t') {
        Format::Tsv
    } else {
        Format::Csv
    })
}

/// Column positions from a header.
struct Columns {
    text: usize,
    label: Option<usize>,
    sender: Option<usize>,
    recipient: Option<usize>,
    received_at: Option<usize>,
    sim_activated_at: Option<usize>,
    origin: Option<usize>,
    event: Option<usize>,
    over_threshold: Option<usize>,
}

impl Columns {
    fn from_header(name: &str, header: &[&str]) -> Result<Columns> {
        let find = |col: &str| {
            header
                .iter()
                .position(|h| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(col))
        };
        let text = find("text").ok_or_else(|| {
            anyhow!(
                "{name}:1: the header has no `text` column (found: {}); the first line must name the columns",
                header.join(", ")
            )
        })?;
        Ok(Columns {
            text,
            label: find("label"),
            sender: find("sender"),
            recipient: find("recipient"),
            received_at: find("received_at"),
            sim_activated_at: find("sim_activated_at"),
            origin: find("origin"),
            event: find("event"),
            over_threshold: find("over_threshold"),
        })
    }
}

/// The optional fields of a row, as strings.
#[derive(Default)]
struct Fields<'a> {
    label: Option<&'a str>,
    sender: Option<&'a str>,
    recipient: Option<&'a str>,
    received_at: Option<&'a str>,
    sim_activated_at: Option<&'a str>,
    origin: Option<&'a str>,
    event: Option<&'a str>,
    over_threshold: Option<&'a str>,
}

/// Builds a row from string fields; an error message says what is wrong.
fn make_row(line: u64, text: &str, f: Fields<'_>) -> Result<Row, String> {
    fn trimmed(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    let label = match trimmed(f.label) {
        None => None,
        Some(l) => {
            Some(Category::parse(l).ok_or_else(|| format!("unknown label {l:?} (expected ham, ad, spam or scam)"))?)
        }
    };
    let time = |s: Option<&str>| trimmed(s).map(parse_time).transpose();
    let origin = match trimmed(f.origin).map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("domestic") => Some(Origin::Domestic),
        Some("international") => Some(Origin::International),
        Some(o) => return Err(format!("unknown origin {o:?} (expected domestic or international)")),
    };
    let over_threshold = match trimmed(f.over_threshold) {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(o) => return Err(format!("over_threshold must be true or false, not {o:?}")),
    };
    let owned = |s: Option<&str>| trimmed(s).map(str::to_string);
    Ok(Row {
        line,
        label,
        msg: Message {
            sender: owned(f.sender),
            recipient: owned(f.recipient),
            text: text.to_string(),
            received_at: time(f.received_at)?,
            meta: Metadata {
                origin,
                sim_activated_at: time(f.sim_activated_at)?,
                ..Default::default()
            },
            ..Default::default()
        },
        event: owned(f.event),
        over_threshold,
        state: None,
        email: None,
        file: None,
    })
}

/// What to do with an invalid row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInvalid {
    /// Count it and go on (`scan --skip-invalid`).
    Skip,
    /// Stop with an error that suggests `--skip-invalid`.
    StopSuggestSkip,
    /// Stop with an error (training and evaluation read every row or none).
    Stop,
}

/// Reads all rows, sending batches to `send`; returns the number of skipped rows.
pub fn read_rows(
    reader: BufReader<Box<dyn Read + Send>>,
    format: Format,
    name: &str,
    limits: &chanrac_mail::Limits,
    on_invalid: OnInvalid,
    progress: &ProgressBar,
    mut send: impl FnMut(u64, Vec<Row>) -> Result<()>,
) -> Result<u64> {
    match format {
        Format::Mbox => return crate::mail::read_mbox(reader, name, limits, on_invalid, progress, send),
        Format::EmlDir => return crate::mail::read_eml_dir(Path::new(name), limits, on_invalid, progress, send),
        _ => {}
    }
    let mut skipped = 0u64;
    let mut seq = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    let bad = |line: u64, why: String, skipped: &mut u64| -> Result<()> {
        match on_invalid {
            OnInvalid::Skip => {
                *skipped += 1;
                Ok(())
            }
            OnInvalid::StopSuggestSkip => bail!("{name}:{line}: {why} (use --skip-invalid to skip such rows)"),
            OnInvalid::Stop => bail!("{name}:{line}: {why}"),
        }
    };
    let mut flush = |batch: &mut Vec<Row>, seq: &mut u64| -> Result<()> {
        if !batch.is_empty() {
            send(*seq, std::mem::replace(batch, Vec::with_capacity(BATCH)))?;
            *seq += 1;
        }
        Ok(())
    };
    match format {
        // E-mail inputs were read above.
        Format::Mbox | Format::EmlDir => {}
        Format::Tsv | Format::Csv => {
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
                .quoting(format == Format::Csv)
                .has_headers(false)
                .flexible(true)
                .from_reader(reader);
            let mut record = csv::ByteRecord::new();
            let mut columns: Option<Columns> = None;
            loop {
                let more = rdr.read_byte_record(&mut record).map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line());
                    anyhow!("{name}:{line}: {e}")
                })?;
                if !more {
                    break;
                }
                let line = record.position().map_or(0, |p| p.line());
                let fields: Result<Vec<&str>, usize> = record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| std::str::from_utf8(f).map_err(|_| i))
                    .collect();
                let Some(cols) = &columns else {
                    let fields = fields
                        .map_err(|i| anyhow!("{name}:{line}: column {} of the header is not valid UTF-8", i + 1))?;
                    columns = Some(Columns::from_header(name, &fields)?);
                    continue;
                };
                let fields = match fields {
                    Ok(f) => f,
                    Err(i) => {
                        bad(line, format!("field {} is not valid UTF-8", i + 1), &mut skipped)?;
                        continue;
                    }
                };
                if fields.len() == 1 && fields[0].is_empty() {
                    continue; // a blank line
                }
                let get = |i: Option<usize>| i.and_then(|i| fields.get(i).copied());
                let Some(text) = fields.get(cols.text) else {
                    bad(
                        line,
                        format!(
                            "the row has {} fields but `text` is field {}",
                            fields.len(),
                            cols.text + 1
                        ),
                        &mut skipped,
                    )?;
                    continue;
                };
                let fields = Fields {
                    label: get(cols.label),
                    sender: get(cols.sender),
                    recipient: get(cols.recipient),
                    received_at: get(cols.received_at),
                    sim_activated_at: get(cols.sim_activated_at),
                    origin: get(cols.origin),
                    event: get(cols.event),
                    over_threshold: get(cols.over_threshold),
                };
                match make_row(line, text, fields) {
                    Ok(row) => batch.push(row),
                    Err(why) => bad(line, why, &mut skipped)?,
                }
                if batch.len() == BATCH {
                    progress.set_position(record.position().map_or(0, |p| p.byte()));
                    flush(&mut batch, &mut seq)?;
                }
            }
        }
        Format::Jsonl => {
            let mut reader = reader;
            let mut buf = Vec::new();
            let mut line = 0u64;
            let mut bytes = 0u64;
            loop {
                buf.clear();
                let n = reader
                    .read_until(b'\n', &mut buf)
                    .with_context(|| format!("cannot read {name}"))?;
                if n == 0 {
                    break;
                }
                line += 1;
                bytes += n as u64;
                let Ok(s) = std::str::from_utf8(&buf) else {
                    bad(line, "the line is not valid UTF-8".into(), &mut skipped)?;
                    continue;
                };
                if s.trim().is_empty() {
                    continue;
                }
                match parse_json_row(line, s) {
                    Ok(row) => batch.push(row),
                    Err(why) => bad(line, why, &mut skipped)?,
                }
                if batch.len() == BATCH {
                    progress.set_position(bytes);
                    flush(&mut batch, &mut seq)?;
                }
            }
        }
    }
    flush(&mut batch, &mut seq)?;
    Ok(skipped)
}

fn parse_json_row(line: u64, s: &str) -> Result<Row, String> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v.as_object().ok_or("the line is not a JSON object")?;
    let field = |k: &'static str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(serde_json::Value::Number(n)) if k.ends_with("_at") => Ok(Some(n.to_string())),
            Some(serde_json::Value::Bool(b)) if k == "over_threshold" => Ok(Some(b.to_string())),
            Some(other) => Err(format!("`{k}` must be a string, not {other}")),
        }
    };
    let text = field("text")?.ok_or("the object has no `text`")?;
    let [
        label,
        sender,
        recipient,
        received_at,
        sim_activated_at,
        origin,
        event,
        over_threshold,
    ] = [
        field("label")?,
        field("sender")?,
        field("recipient")?,
        field("received_at")?,
        field("sim_activated_at")?,
        field("origin")?,
        field("event")?,
        field("over_threshold")?,
    ];
    make_row(
        line,
        &text,
        Fields {
            label: label.as_deref(),
            sender: sender.as_deref(),
            recipient: recipient.as_deref(),
            received_at: received_at.as_deref(),
            sim_activated_at: sim_activated_at.as_deref(),
            origin: origin.as_deref(),
            event: event.as_deref(),
            over_threshold: over_threshold.as_deref(),
        },
    )
}
