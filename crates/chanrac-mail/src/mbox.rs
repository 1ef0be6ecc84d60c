//! Splitting an mbox file (mboxo or mboxrd) into messages, in flat memory.
//!
//! A message starts at a line beginning with `From ` and runs to the next one. `>From `
//! lines (any number of `>`) lose one `>`, as mboxrd writers escaped them. A message is kept
//! up to the size limit; the rest of it is skipped without being stored (the message says
//! how long it was), and so is the rest of a line longer than the limit, so a file without
//! line breaks or separators cannot fill the memory.

use std::io::BufRead;

/// One message of an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMail {
    /// The line of its `From ` separator (1-based).
    pub line: u64,
    /// The message without the separator, cut at the size limit.
    pub bytes: Vec<u8>,
    /// Its full length in bytes when it was longer than the limit.
    pub cut_from: Option<u64>,
}

/// An iterator over the messages of an mbox stream.
#[derive(Debug)]
pub struct Mbox<R> {
    reader: R,
    max_bytes: usize,
    line: u64,
    /// The separator line of the next message, once read.
    next_start: Option<u64>,
    line_buf: Vec<u8>,
    /// The full length of the last line read (`line_buf` may hold less).
    line_len: u64,
    done: bool,
}

/// Why an mbox stream cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MboxError {
    /// The stream does not start with a `From ` line.
    #[error("line {line}: an mbox file starts with a `From ` line (found {found:?})")]
    NotMbox {
        /// The first non-blank line.
        line: u64,
        /// Its start.
        found: String,
    },
    /// Reading failed.
    #[error("cannot read the mbox stream")]
    Io(#[source] std::io::Error),
}

impl<R: BufRead> Mbox<R> {
    /// Messages of `reader`, each kept up to `max_bytes`.
    pub fn new(reader: R, max_bytes: usize) -> Mbox<R> {
        Mbox {
            reader,
            max_bytes,
            line: 0,
            next_start: None,
            line_buf: Vec::new(),
            line_len: 0,
            done: false,
        }
    }

    /// Reads one line into `line_buf`, keeping at most `max_bytes` of it; false at the end.
    fn read_line(&mut self) -> Result<bool, MboxError> {
        self.line_buf.clear();
        self.line_len = 0;
        let mut any = false;
        loop {
            let buf = self.reader.fill_buf().map_err(MboxError::Io)?;
            if buf.is_empty() {
                if any {
                    self.line += 1;
                }
                return Ok(any);
            }
            any = true;
            let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..=i], true),
                None => (buf, false),
            };
            let room = self.max_bytes.saturating_sub(self.line_buf.len());
            self.line_buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let n = chunk.len();
            self.line_len += n as u64;
            self.reader.consume(n);
            if end {
                self.line += 1;
                return Ok(true);
            }
        }
    }

    fn next_mail(&mut self) -> Result<Option<RawMail>, MboxError> {
        let start = match self.next_start.take() {
            Some(s) => s,
            None => loop {
                // The first separator: blank lines may come before it, nothing else.
                if !self.read_line()? {
                    return Ok(None);
                }
                if self.line_buf.starts_with(b"From ") {
                    break self.line;
                }
                if !self.line_buf.iter().all(u8::is_ascii_whitespace) {
                    let found = String::from_utf8_lossy(&self.line_buf[..self.line_buf.len().min(40)]).into_owned();
                    return Err(MboxError::NotMbox {
                        line: self.line,
                        found: found.trim_end().to_string(),
                    });
                }
            },
        };
        let mut bytes = Vec::new();
        let mut total = 0u64;
        while self.read_line()? {
            if self.line_buf.starts_with(b"From ") {
                self.next_start = Some(self.line);
                break;
            }
            // mboxrd: `>From ` (any number of `>`) was escaped by adding one `>`.
            let l = &self.line_buf;
            let unescape = l.first() == Some(&b'>') && {
                let rest = &l[l.iter().position(|&b| b != b'>').unwrap_or(l.len())..];
                rest.starts_with(b"From ")
            };
            let l = if unescape { &l[1..] } else { &l[..] };
            total += self.line_len - unescape as u64;
            let room = self.max_bytes.saturating_sub(bytes.len());
            bytes.extend_from_slice(&l[..l.len().min(room)]);
        }
        let cut_from = (total > bytes.len() as u64).then_some(total);
        Ok(Some(RawMail {
            line: start,
            bytes,
            cut_from,
        }))
    }
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = Result<RawMail, MboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_mail() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &[u8], max: usize) -> Vec<RawMail> {
        Mbox::new(s, max).collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn splits_and_unescapes() {
        let m = split(
            b"\nFrom a@b Mon Nov 23 01:00:00 2026\nSubject: 1\n\n>From me\n>>From you\nFrom the start\n",
            1 << 20,
        );
        // `From the start` at the start of a line is a separator, as in mboxo.
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].line, 2);
        assert_eq!(m[0].bytes, b"Subject: 1\n\nFrom me\n>From you\n");
        assert_eq!(m[1].line, 7);
        assert!(m[1].bytes.is_empty());
    }

    #[test]
    fn bounded() {
        let mut big = b"From x\nSubject: big\n\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', 100_000));
        big.extend_from_slice(b"\nFrom y\nSubject: small\n\nhi\n");
        let m = split(&big, 1000);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].bytes.len(), 1000);
        assert_eq!(m[0].cut_from, Some(100_015));
        assert_eq!(m[1].bytes, b"Subject: small\n\nhi\n");
        assert_eq!(m[1].line, 5);
    }

    #[test]
    fn not_an_mbox() {
        let e = Mbox::new(&b"Subject: x\n\nhi\n"[..], 100).next().unwrap().unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        assert!(Mbox::new(&b""[..], 100).next().is_none());
    }
}
