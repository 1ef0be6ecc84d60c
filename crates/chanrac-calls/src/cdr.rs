//! Call detail records and their two file formats.
//!
//! CSV with a header that names at least
//! `start_time,caller,displayed_number,callee,duration_s,answered,origin,operator` in any
//! order (other columns are ignored, except an optional `label` that generated files carry),
//! or JSON Lines with the same fields (other fields ignored). One record per line.
//!
//! A line that cannot be read is counted and kept with its line number and reason
//! ([`BadLine`]); it never stops the stream. Only a CSV header without the required columns,
//! or a read error of the underlying stream, ends it.

use std::borrow::Cow;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::number::Number;
use crate::signal::CallCategory;

/// The route a call came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// From a domestic operator.
    Domestic,
    /// From an international trunk.
    International,
    /// From a VoIP / OTT gateway.
    Voip,
}

impl Origin {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Domestic => "domestic",
            Origin::International => "international",
            Origin::Voip => "voip",
        }
    }

    fn parse(s: &str) -> Option<Origin> {
        match s {
            "domestic" => Some(Origin::Domestic),
            "international" => Some(Origin::International),
            "voip" => Some(Origin::Voip),
            _ => {
                let l = s.to_ascii_lowercase();
                (l != s).then(|| Origin::parse(&l)).flatten()
            }
        }
    }
}

/// What a caller is, in labeled (generated) files: `ham`, or the category of unwanted
/// caller it was injected as (`robocall`, `wangiri`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// A legitimate caller.
    Ham,
    /// An unwanted caller of this category.
    Unwanted(CallCategory),
}

impl Label {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Ham => "ham",
            Label::Unwanted(c) => c.as_str(),
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Label> {
        if s == "ham" {
            return Some(Label::Ham);
        }
        CallCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .map(Label::Unwanted)
    }
}

/// One call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cdr {
    /// When the call started, Unix seconds.
    pub start: i64,
    /// The calling party as the network knows it (the trunk or SIM the call came from).
    pub caller: Number,
    /// The number shown to the callee (the presentation number, CLI); the caller when the
    /// field is empty.
    pub displayed: Number,
    /// The called party.
    pub callee: Number,
    /// Seconds of conversation for an answered call; seconds of ringing for an unanswered one.
    pub duration_s: u32,
    /// Whether the callee answered.
    pub answered: bool,
    /// The route.
    pub origin: Origin,
    /// The caller's label, in labeled files.
    pub label: Option<Label>,
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    /// The line number, from 1 (the CSV header is line 1).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// What stops a stream of records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CdrError {
    /// The stream could not be read.
    #[error("cannot read the call records")]
    Io(#[from] std::io::Error),
    /// The CSV header lacks required columns.
    #[error("the CSV header lacks the column(s) {missing}; it needs {REQUIRED_HEADER}")]
    Header {
        /// The missing columns, comma-separated.
        missing: String,
    },
}

/// The columns a CSV file must have (in any order).
pub const REQUIRED_HEADER: &str = "start_time,caller,displayed_number,callee,duration_s,answered,origin,operator";

const COLUMNS: [&str; 9] = [
    "start_time",
    "caller",
    "displayed_number",
    "callee",
    "duration_s",
    "answered",
    "origin",
    "operator",
    "label",
];
const REQUIRED: usize = 8;
const NO_COLUMN: usize = usize::MAX;

/// The format of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header.
    Csv,
    /// JSON Lines.
    JsonLines,
}

/// Reads records from a stream, line by line, in bounded memory; see the module docs.
///
/// ```
/// use chanrac_calls::CdrReader;
///
/// let csv = "start_time,caller,displayed_number,callee,duration_s,answered,origin,operator\n\
///            2026-11-22T09:00:00+07:00,0912345678,,0987654321,35,true,domestic,viettel\n\
///            not a record\n";
/// let mut reader = CdrReader::new(csv.as_bytes());
/// let mut calls = Vec::new();
/// while let Some(cdr) = reader.next_cdr().unwrap() {
///     calls.push(cdr);
/// }
/// assert_eq!(calls.len(), 1);
/// assert_eq!(reader.bad_lines()[0].line, 3);
/// ```
pub struct CdrReader<R> {
    input: R,
    buf: Vec<u8>,
    line: u64,
    format: Option<Format>,
    columns: [usize; COLUMNS.len()],
    fields: Vec<(usize, usize)>,
    unquoted: String,
    bad: Vec<BadLine>,
    bad_count: u64,
    max_bad_kept: usize,
    records: u64,
    bytes: u64,
}

impl<R: BufRead> CdrReader<R> {
    /// A reader that detects the format from the first line (`{` starts JSON Lines).
    pub fn new(input: R) -> Self {
        CdrReader {
            input,
            buf: Vec::with_capacity(256),
            line: 0,
            format: None,
            columns: [NO_COLUMN; COLUMNS.len()],
            fields: Vec::with_capacity(16),
            unquoted: String::new(),
            bad: Vec::new(),
            bad_count: 0,
            max_bad_kept: 1000,
            records: 0,
            bytes: 0,
        }
    }

    /// Keeps at most this many bad lines (all are counted). Default 1000.
    pub fn max_bad_kept(mut self, n: usize) -> Self {
        self.max_bad_kept = n;
        self
    }

    /// The bad lines kept so far, in order.
    pub fn bad_lines(&self) -> &[BadLine] {
        &self.bad
    }

    /// How many lines could not be read.
    pub fn bad_count(&self) -> u64 {
        self.bad_count
    }

    /// How many records were read.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// How many bytes were read.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The format, once the first line is read.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// The next record; `Ok(None)` at the end. Bad lines are skipped and recorded.
    pub fn next_cdr(&mut self) -> Result<Option<Cdr>, CdrError> {
        loop {
            self.buf.clear();
            let n = self.input.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes += n as u64;
            self.line += 1;
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let mut start = 0;
            if self.line == 1 && self.buf.starts_with(b"\xef\xbb\xbf") {
                start = 3;
            }
            if self.buf[start..end].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let format = match self.format {
                Some(f) => f,
                None => {
                    let first = self.buf[start..end].iter().find(|b| !b.is_ascii_whitespace());
                    let f = if first == Some(&b'{') {
                        Format::JsonLines
                    } else {
                        Format::Csv
                    };
                    self.format = Some(f);
                    if f == Format::Csv {
                        self.header(start, end)?;
                        continue;
                    }
                    f
                }
            };
            let parsed = match format {
                Format::Csv => self.csv_line(start, end),
                Format::JsonLines => json_line(&self.buf[start..end]),
            };
            match parsed {
                Ok(cdr) => {
                    self.records += 1;
                    return Ok(Some(cdr));
                }
                Err(reason) => {
                    self.bad_count += 1;
                    if self.bad.len() < self.max_bad_kept {
                        self.bad.push(BadLine {
                            line: self.line,
                            reason,
                        });
                    }
                }
            }
        }
    }

    fn header(&mut self, start: usize, end: usize) -> Result<(), CdrError> {
        let text = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
        for (i, name) in text.split(',').enumerate() {
            let name = name.trim().trim_matches('"').trim();
            if let Some(c) = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                self.columns[c] = i;
            }
        }
        let missing: Vec<&str> = (0..REQUIRED)
            .filter(|&c| self.columns[c] == NO_COLUMN)
            .map(|c| COLUMNS[c])
            .collect();
        if !missing.is_empty() {
            return Err(CdrError::Header {
                missing: missing.join(","),
            });
        }
        Ok(())
    }

    fn csv_line(&mut self, start: usize, end: usize) -> Result<Cdr, String> {
        let line = std::str::from_utf8(&self.buf[start..end]).map_err(|_| "not UTF-8".to_string())?;
        self.fields.clear();
        if !line.contains('"') {
            let mut from = 0;
            for (i, b) in line.bytes().enumerate() {
                if b == b',' {
                    self.fields.push((from, i));
                    from = i + 1;
                }
            }
            self.fields.push((from, line.len()));
            let field = |c: usize| -> &str {
                let i = self.columns[c];
                self.fields.get(i).map_or("", |&(a, b)| line[a..b].trim())
            };
            return record(field, self.columns[8] != NO_COLUMN, self.fields.len(), self.columns);
        }
        // Quoted fields: unquote into one buffer and split again over it.
        self.unquoted.clear();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        let mut from = 0;
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', false) => quoted = true,
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    self.unquoted.push('"');
                }
                ('"', true) => quoted = false,
                (',', false) => {
                    self.fields.push((from, self.unquoted.len()));
                    from = self.unquoted.len();
                }
                (c, _) => self.unquoted.push(c),
            }
        }
        if quoted {
            return Err("unterminated quoted field".into());
        }
        self.fields.push((from, self.unquoted.len()));
        let text = &self.unquoted;
        let fields = &self.fields;
        let field = |c: usize| -> &str {
            let i = self.columns[c];
            fields.get(i).map_or("", |&(a, b)| text[a..b].trim())
        };
        record(field, self.columns[8] != NO_COLUMN, fields.len(), self.columns)
    }
}

/// Builds a record from its fields, named by column index in `COLUMNS`.
fn record<'a>(
    field: impl Fn(usize) -> &'a str,
    has_label: bool,
    n_fields: usize,
    columns: [usize; COLUMNS.len()],
) -> Result<Cdr, String> {
    if let Some(c) = (0..REQUIRED).find(|&c| columns[c] >= n_fields) {
        return Err(format!("{n_fields} fields: no {}", COLUMNS[c]));
    }
    let label = if has_label { field(8) } else { "" };
    build(Fields {
        start_time: field(0),
        caller: field(1),
        displayed: field(2),
        callee: field(3),
        duration: Dur::Text(field(4)),
        answered: Ans::Text(field(5)),
        origin: field(6),
        label,
    })
}

enum Dur<'a> {
    Text(&'a str),
    Num(u32),
}

enum Ans<'a> {
    Text(&'a str),
    Bool(bool),
}

struct Fields<'a> {
    start_time: &'a str,
    caller: &'a str,
    displayed: &'a str,
    callee: &'a str,
    duration: Dur<'a>,
    answered: Ans<'a>,
    origin: &'a str,
    label: &'a str,
}

fn build(f: Fields<'_>) -> Result<Cdr, String> {
    let start = parse_rfc3339(f.start_time)
        .ok_or_else(|| format!("start_time: {:?} is not an RFC 3339 time", clip(f.start_time)))?;
    let caller = Number::parse(f.caller).map_err(|e| format!("caller: {e}"))?;
    let callee = Number::parse(f.callee).map_err(|e| format!("callee: {e}"))?;
    let displayed = if f.displayed.is_empty() {
        caller
    } else {
        Number::parse(f.displayed).map_err(|e| format!("displayed_number: {e}"))?
    };
    let duration_s = match f.duration {
        Dur::Num(n) => n,
        Dur::Text(t) => t
            .parse::<u32>()
            .map_err(|_| format!("duration_s: {:?} is not a whole number of seconds", clip(t)))?,
    };
    let answered = match f.answered {
        Ans::Bool(b) => b,
        Ans::Text("true" | "TRUE" | "True" | "1") => true,
        Ans::Text("false" | "FALSE" | "False" | "0") => false,
        Ans::Text(t) => return Err(format!("answered: {:?} is not true or false", clip(t))),
    };
    let origin = Origin::parse(f.origin)
        .ok_or_else(|| format!("origin: {:?} is not domestic, international or voip", clip(f.origin)))?;
    let label = match f.label {
        "" => None,
        l => Some(Label::parse(l).ok_or_else(|| format!("label: {:?} is not a known label", clip(l)))?),
    };
    Ok(Cdr {
        start,
        caller,
        displayed,
        callee,
        duration_s,
        answered,
        origin,
        label,
    })
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[derive(Deserialize)]
struct JsonCdr<'a> {
    #[serde(borrow)]
    start_time: Cow<'a, str>,
    #[serde(borrow)]
    caller: Cow<'a, str>,
    #[serde(borrow, default)]
    displayed_number: Option<Cow<'a, str>>,
    #[serde(borrow)]
    callee: Cow<'a, str>,
    duration_s: u32,
    answered: bool,
    #[serde(borrow)]
    origin: Cow<'a, str>,
    #[serde(borrow, default)]
    #[allow(dead_code)]
    operator: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    label: Option<Cow<'a, str>>,
}

fn json_line(line: &[u8]) -> Result<Cdr, String> {
    let j: JsonCdr<'_> = serde_json::from_slice(line).map_err(|e| format!("not a call record: {e}"))?;
    from_json(j)
}

/// Reads one record from a parsed JSON object (the shape of a JSON Lines line; the items
/// of `POST /v1/calls/batch`).
pub fn from_json_value(value: &serde_json::Value) -> Result<Cdr, String> {
    let j = JsonCdr::deserialize(value).map_err(|e| format!("not a call record: {e}"))?;
    from_json(j)
}

fn from_json(j: JsonCdr<'_>) -> Result<Cdr, String> {
    build(Fields {
        start_time: &j.start_time,
        caller: &j.caller,
        displayed: j.displayed_number.as_deref().unwrap_or(""),
        callee: &j.callee,
        duration: Dur::Num(j.duration_s),
        answered: Ans::Bool(j.answered),
        origin: &j.origin,
        label: j.label.as_deref().unwrap_or(""),
    })
}

/// Parses RFC 3339 (`2026-11-22T09:00:00+07:00`, `…Z`, fractions of a second ignored) into
/// Unix seconds, without allocating: the fixed form is read by hand, anything else through
/// the `time` crate.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let fast = || -> Option<i64> {
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let (y, mo, d, h, mi, sec) = (
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        );
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let offset = match &b[19..] {
            b"Z" | b"z" => 0,
            [s @ (b'+' | b'-'), _, _, b':', _, _] => {
                let o = num(20..22)? * 3600 + num(23..25)? * 60;
                if *s == b'-' { -o } else { o }
            }
            _ => return None,
        };
        if d > days_in_month(y, mo) {
            return None;
        }
        Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
    };
    fast().or_else(|| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp())
    })
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Writes a record as one CSV line (the header is [`CSV_HEADER`]).
pub fn write_csv(out: &mut String, cdr: &Cdr, operator: &str) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{}{}",
        rfc3339_vietnam(cdr.start),
        cdr.caller,
        cdr.displayed,
        cdr.callee,
        cdr.duration_s,
        cdr.answered,
        cdr.origin.as_str(),
        operator,
        cdr.label.map(|l| format!(",{}", l.as_str())).unwrap_or_default(),
    );
}

/// The header [`write_csv`] lines go under (with the `label` column).
pub const CSV_HEADER: &str = "start_time,caller,displayed_number,callee,duration_s,answered,origin,operator,label";

/// Formats Unix seconds as RFC 3339 in Vietnam time (`2026-11-22T09:00:00+07:00`).
pub fn rfc3339_vietnam(at: i64) -> String {
    let local = at + chanrac_core::message::VIETNAM_UTC_OFFSET;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+07:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_agree_with_the_time_crate() {
        for s in [
            "2026-11-22T09:00:00+07:00",
            "2026-11-22T02:00:00Z",
            "2024-02-29T23:59:59-05:30",
            "1970-01-01T00:00:00Z",
            "2000-03-01T12:34:56+14:00",
        ] {
            let want = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .unwrap()
                .unix_timestamp();
            assert_eq!(parse_rfc3339(s), Some(want), "{s}");
            assert_eq!(parse_rfc3339(&rfc3339_vietnam(want)), Some(want));
        }
        assert_eq!(parse_rfc3339("2026-11-22T09:00:00.250+07:00"), Some(1_795_312_800));
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-22 09:00",
            "yesterday",
            "2026-13-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
