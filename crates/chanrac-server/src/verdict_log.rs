//! The verdict log's writer: checked messages go from the request path to the store through
//! a bounded queue and one writer task that commits everything queued in one transaction
//! (group commit).
//!
//! A request hands over the message and the verdict it already owns (after its answer is
//! serialized, so nothing is copied), with the reasons' JSON its answer holds when it has
//! one, and does no I/O and no serialization for the log: the writer builds the rows (the
//! reasons as JSON, unless the request gave them) and writes them. While one transaction
//! commits, the next requests' entries queue up, and the next transaction takes them all, up
//! to [`MAX_ROWS_PER_COMMIT`].
//!
//! Durability: an answer is sent **before** its log entry is written. An entry is durable
//! once the writer's transaction commits (SQLite with `synchronous = FULL`, or a PostgreSQL
//! commit), normally well under a second after the answer; `kill -9` loses the entries
//! still queued or in the transaction being written. A graceful stop (SIGTERM) writes the
//! queue first. The queue holds at most `server.verdict_log_queue` entries (queued and being
//! written): when it is full — the store is down or slower than the traffic — new entries
//! are dropped, never waited for (the firewall keeps answering whatever the store does), and
//! each drop is counted in `chanrac_verdict_log_dropped_total` and logged at most every ten
//! seconds. A failed write is retried every second with the same entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chanrac_core::{Action, Message, Verdict};
use chanrac_store::records::{AnyRecords, Records, VerdictRecord};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::config::LogVerdicts;
use crate::metrics::Metrics;

/// The most rows one transaction writes.
pub const MAX_ROWS_PER_COMMIT: usize = 20_000;

/// A checked message on its way to the log.
#[derive(Debug)]
pub struct Entry {
    /// When it was checked (Unix seconds).
    pub at: i64,
    /// `http` or `smpp`.
    pub source: &'static str,
    /// The message, as checked.
    pub msg: Message,
    /// Its verdict.
    pub verdict: Verdict,
    /// The verdict's reasons as JSON, when the request already wrote them in its answer
    /// (the same bytes as serializing them here): the writer then copies them rather than
    /// serializing them a second time.
    pub reasons_json: Option<String>,
}

/// Entries of one request, with their room in the queue (given back once written).
struct Chunk {
    entries: Vec<Entry>,
    /// The sequence number of the chunk's last entry.
    last: u64,
    _room: OwnedSemaphorePermit,
}

/// The queue to the writer. Cheap to share (`Arc`); every method takes `&self`.
#[derive(Debug)]
pub struct VerdictLog {
    keep: LogVerdicts,
    tx: mpsc::UnboundedSender<Chunk>,
    room: Arc<Semaphore>,
    capacity: usize,
    /// Entries handed to the writer so far (the sequence number of the last one).
    queued: std::sync::Mutex<u64>,
    /// The sequence number of the last entry written.
    written: watch::Receiver<u64>,
    dropped: AtomicU64,
    last_warning: AtomicI64,
    stop: watch::Sender<bool>,
    writer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chunk({} entries up to {})", self.entries.len(), self.last)
    }
}

impl VerdictLog {
    /// Starts the writer (on the current Tokio runtime) for `store`, keeping the messages
    /// `keep` names, with room for `capacity` entries.
    pub fn start(store: AnyRecords, keep: LogVerdicts, capacity: usize) -> VerdictLog {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let (tx, rx) = mpsc::unbounded_channel();
        let (written_tx, written) = watch::channel(0);
        let (stop, stop_rx) = watch::channel(false);
        let writer = tokio::spawn(write_loop(store, rx, written_tx, stop_rx));
        VerdictLog {
            keep,
            tx,
            room: Arc::new(Semaphore::new(capacity)),
            capacity,
            queued: std::sync::Mutex::new(0),
            written,
            dropped: AtomicU64::new(0),
            last_warning: AtomicI64::new(0),
            stop,
            writer: std::sync::Mutex::new(Some(writer)),
        }
    }

    /// True when a message with this verdict goes to the log (`server.log_verdicts`).
    pub fn keeps(&self, action: Action) -> bool {
        match self.keep {
            LogVerdicts::None => false,
            LogVerdicts::Unwanted => action != Action::Allow,
            LogVerdicts::All => true,
        }
    }

    /// Queues the entries the log keeps (see [`Self::keeps`]); never waits. What does not fit
    /// in the queue is dropped and counted.
    pub fn push(&self, entries: impl IntoIterator<Item = Entry>) {
        let mut entries: Vec<Entry> = entries.into_iter().filter(|e| self.keeps(e.verdict.action)).collect();
        if entries.is_empty() {
            return;
        }
        let n = entries.len();
        // All of them if there is room, else as many as there is room for.
        let permit = match self.room.clone().try_acquire_many_owned(n as u32) {
            Ok(p) => Some(p),
            Err(_) => {
                let room = self.room.available_permits().min(n);
                entries.truncate(room);
                (room > 0)
                    .then(|| self.room.clone().try_acquire_many_owned(room as u32).ok())
                    .flatten()
            }
        };
        let Some(permit) = permit else {
            self.dropped_n(n as u64);
            return;
        };
        let sent = entries.len();
        if sent < n {
            self.dropped_n((n - sent) as u64);
        }
        // The sequence numbers follow the channel's order: both under one short lock.
        let Ok(mut queued) = self.queued.lock() else { return };
        *queued += sent as u64;
        let chunk = Chunk {
            entries,
            last: *queued,
            _room: permit,
        };
        if self.tx.send(chunk).is_err() {
            // The writer has stopped (the server is shutting down).
            *queued -= sent as u64;
            drop(queued);
            self.dropped_n(sent as u64);
        }
    }

    /// Queues one checked message if the log keeps it (`reasons_json`: see
    /// [`Entry::reasons_json`]).
    pub fn push_one(
        &self,
        at: i64,
        source: &'static str,
        msg: Message,
        verdict: Verdict,
        reasons_json: Option<String>,
    ) {
        if self.keeps(verdict.action) {
            self.push([Entry {
                at,
                source,
                msg,
                verdict,
                reasons_json,
            }]);
        }
    }

    fn dropped_n(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        Metrics::verdict_log_dropped(n);
        let now = crate::api::now();
        let last = self.last_warning.load(Ordering::Relaxed);
        if now - last >= 10
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                dropped_total = self.dropped.load(Ordering::Relaxed),
                queue = self.capacity,
                "verdict log queue full: entries dropped (the store is down or slower than the traffic)"
            );
        }
    }

    /// Entries dropped since the start because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Entries queued and not yet written.
    pub fn pending(&self) -> u64 {
        let queued = self.queued.lock().map_or(0, |q| *q);
        queued.saturating_sub(*self.written.borrow())
    }

    /// Waits until every entry queued before the call is written, at most `timeout`; false
    /// when the time ran out (the store is down or far behind).
    pub async fn sync(&self, timeout: Duration) -> bool {
        let target = self.queued.lock().map_or(0, |q| *q);
        let mut written = self.written.clone();
        tokio::time::timeout(timeout, written.wait_for(|w| *w >= target))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Writes what is queued and stops the writer, waiting at most `timeout`. Entries pushed
    /// afterwards are dropped (and counted).
    pub async fn close(&self, timeout: Duration) {
        let _ = self.stop.send(true);
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle
            && tokio::time::timeout(timeout, h).await.is_err()
        {
            tracing::error!(
                pending = self.pending(),
                "the verdict log was not written before the deadline"
            );
        }
    }
}

/// The writer: takes everything queued (up to [`MAX_ROWS_PER_COMMIT`]), writes it in one
/// transaction, retries every second when the store fails, and says what is written.
async fn write_loop(
    store: AnyRecords,
    mut rx: mpsc::UnboundedReceiver<Chunk>,
    written: watch::Sender<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut stopping = false;
    loop {
        let first = if stopping || *stop.borrow() {
            stopping = true;
            // Drain what is left, then end.
            match rx.try_recv() {
                Ok(c) => c,
                Err(_) => return,
            }
        } else {
            tokio::select! {
                c = rx.recv() => match c { Some(c) => c, None => return },
                // A stop, or the log itself dropped: drain and end.
                _ = stop.changed() => { stopping = true; continue }
            }
        };
        let mut rows = first.entries.len();
        chunks.push(first);
        while rows < MAX_ROWS_PER_COMMIT {
            match rx.try_recv() {
                Ok(c) => {
                    rows += c.entries.len();
                    chunks.push(c);
                }
                Err(_) => break,
            }
        }
        let records: Arc<[VerdictRecord]> = chunks.iter_mut().flat_map(|c| c.entries.drain(..)).map(row).collect();
        let last = chunks.last().map_or(0, |c| c.last);
        loop {
            match store.add_verdicts(records.clone()).await {
                Ok(()) => break,
                Err(e) => {
                    Metrics::store_error("add_verdicts");
                    tracing::warn!(error = %e, rows = records.len(), "verdict log not written; retrying in a second");
                    if stopping || *stop.borrow() {
                        tracing::error!(rows = records.len(), "stopping: verdict log entries lost");
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        Metrics::verdict_log_written(records.len() as u64);
        // Gives the room back.
        chunks.clear();
        written.send_replace(last);
    }
}

/// The stored row of an entry (its reasons as the verdict's JSON array).
fn row(e: Entry) -> VerdictRecord {
    VerdictRecord {
        id: 0,
        at: e.at,
        reasons: e
            .reasons_json
            .unwrap_or_else(|| serde_json::to_string(&e.verdict.reasons).unwrap_or_default()),
        message_id: e.msg.id,
        source: e.source.to_string(),
        sender: e.msg.sender,
        recipient: e.msg.recipient,
        text: e.msg.text,
        action: e.verdict.action,
        category: e.verdict.category,
        score: e.verdict.score,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chanrac_core::{Category, Reason};
    use chanrac_store::records::VerdictQuery;
    use chanrac_store::records::sqlite::SqliteRecords;

    use super::*;

    /// A fresh SQLite store in its own file.
    fn store(name: &str) -> AnyRecords {
        let dir = std::env::temp_dir().join(format!("chanrac-vlog-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        AnyRecords::Sqlite(SqliteRecords::open(&dir.join("records.db")).unwrap())
    }

    fn entry(i: usize, action: Action) -> Entry {
        Entry {
            at: 1_795_000_000 + i as i64,
            source: "http",
            msg: Message {
                id: Some(format!("m-{i}")),
                sender: Some("0912345678".into()),
                recipient: Some(format!("098700{i:04}")),
                text: format!("tin nhắn {i}"),
                ..Message::default()
            },
            verdict: Verdict {
                action,
                category: Category::Scam,
                score: i as f32,
                reasons: vec![Reason {
                    signal: Arc::from("VI_PRIZE"),
                    weight: 5.0,
                    evidence: format!("bằng chứng {i}"),
                }],
            },
            reasons_json: None,
        }
    }

    async fn stored(store: &AnyRecords) -> Vec<VerdictRecord> {
        let mut found = store
            .find_verdicts(&VerdictQuery {
                limit: 1000,
                ..VerdictQuery::default()
            })
            .await
            .unwrap();
        found.reverse();
        found
    }

    #[tokio::test]
    async fn kept_entries_are_written_in_order_with_their_reasons() {
        let s = store("order");
        let log = VerdictLog::start(s.clone(), LogVerdicts::Unwanted, 100);
        log.push([entry(0, Action::Block), entry(1, Action::Allow), entry(2, Action::Tag)]);
        log.push_one(
            5,
            "smpp",
            entry(3, Action::Quarantine).msg,
            entry(3, Action::Quarantine).verdict,
            None,
        );
        assert!(log.sync(Duration::from_secs(5)).await, "written within 5 s");
        let got = stored(&s).await;
        let ids: Vec<_> = got
            .iter()
            .map(|r| (r.message_id.as_deref().unwrap(), r.source.as_str()))
            .collect();
        assert_eq!(
            ids,
            [("m-0", "http"), ("m-2", "http"), ("m-3", "smpp")],
            "allowed messages are not kept"
        );
        let reasons: serde_json::Value = serde_json::from_str(&got[1].reasons).unwrap();
        assert_eq!(reasons[0]["evidence"], "bằng chứng 2");
        assert_eq!((got[1].text.as_str(), got[1].action), ("tin nhắn 2", Action::Tag));
        assert_eq!((log.pending(), log.dropped()), (0, 0));
    }

    #[tokio::test]
    async fn a_full_queue_drops_what_does_not_fit_and_counts_it() {
        let s = store("full");
        let log = VerdictLog::start(s.clone(), LogVerdicts::All, 2);
        // Room is given back only once written: one push of five finds room for two.
        log.push((0..5).map(|i| entry(i, Action::Allow)));
        assert_eq!(log.dropped(), 3);
        assert!(log.sync(Duration::from_secs(5)).await);
        let got = stored(&s).await;
        assert_eq!(
            got.iter().map(|r| r.message_id.clone().unwrap()).collect::<Vec<_>>(),
            ["m-0", "m-1"]
        );
        // Written, the room is back.
        log.push((5..7).map(|i| entry(i, Action::Allow)));
        assert!(log.sync(Duration::from_secs(5)).await);
        assert_eq!((stored(&s).await.len(), log.dropped()), (4, 3));
    }

    #[tokio::test]
    async fn closing_writes_the_queue_and_later_entries_are_dropped() {
        let s = store("close");
        let log = VerdictLog::start(s.clone(), LogVerdicts::Unwanted, 10_000);
        for i in 0..50 {
            log.push((i * 100..i * 100 + 100).map(|j| entry(j, Action::Block)));
        }
        log.close(Duration::from_secs(10)).await;
        assert_eq!(stored(&s).await.len(), 1000, "a full first page of the log");
        let all = s
            .find_verdicts(&VerdictQuery {
                message_id: Some("m-4999".into()),
                limit: 1,
                ..VerdictQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "the last entry queued before the close is written");
        log.push([entry(9999, Action::Block)]);
        assert_eq!(log.dropped(), 1, "after the close nothing is queued");
    }

    #[tokio::test]
    async fn nothing_is_kept_when_the_log_is_off() {
        let s = store("off");
        let log = VerdictLog::start(s.clone(), LogVerdicts::None, 10);
        log.push([entry(0, Action::Block)]);
        assert!(log.sync(Duration::from_secs(5)).await);
        assert!(stored(&s).await.is_empty());
        assert_eq!(log.dropped(), 0);
    }
}
