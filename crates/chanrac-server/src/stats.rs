//! Traffic statistics: counts per minute, action and category, and the senders and domains
//! of blocked messages. Requests add to in-memory counts (one short lock per request, never
//! per message); a background task flushes them to the store every few seconds, where they
//! add up across nodes. `GET /v1/stats` flushes first, so that it counts every message
//! answered before it. (The verdict log has its own writer: `verdict_log`.)

use std::collections::HashMap;
use std::sync::Mutex;

use chanrac_core::{Action, Category, Message, Verdict};

use chanrac_store::records::{Records, StatsRow, TopKind, TopRow};
use chanrac_store::{StoreError, records::AnyRecords};

/// The most distinct (minute, sender or domain) keys kept between two flushes; beyond, new
/// keys are not ranked (they are still counted per action and category), so that a flood of
/// random senders cannot grow memory without bound.
const MAX_TOP_KEYS: usize = 50_000;

/// Counts not yet flushed.
#[derive(Debug, Default)]
struct Pending {
    counts: HashMap<i64, [[u64; 4]; 4]>,
    top: HashMap<(i64, TopKind, Box<str>), u64>,
    dropped_top: u64,
}

/// Counts gathered by one request, merged into [`Stats`] at its end.
#[derive(Debug, Default)]
pub struct Tally {
    /// Counts per minute: a request's messages almost always share one or two minutes, so a
    /// short list beats a map (and allocates once).
    counts: Vec<(i64, [[u64; 4]; 4])>,
    top: Vec<(i64, TopKind, Box<str>)>,
}

impl Tally {
    /// Counts a checked message. A blocked message's sender and link `domains` are ranked.
    pub fn record<'a>(&mut self, now: i64, msg: &Message, v: &Verdict, domains: impl Iterator<Item = &'a str>) {
        if v.action == Action::Block {
            let sender = msg
                .sender
                .as_deref()
                .and_then(|s| chanrac_core::phone::SenderId::parse(s).key().map(str::to_string));
            let mut sources: Vec<(TopKind, &str)> = Vec::new();
            if let Some(s) = &sender {
                sources.push((TopKind::Sender, s));
            }
            sources.extend(domains.map(|d| (TopKind::Domain, d)));
            self.add(now, v.action, v.category, &sources);
        } else {
            self.add(now, v.action, v.category, &[]);
        }
    }

    /// Counts one verdict received at `unix_seconds`; `blocked_sources` are the sender key
    /// and the link domains of a blocked message (empty otherwise).
    pub fn add(&mut self, unix_seconds: i64, action: Action, category: Category, blocked_sources: &[(TopKind, &str)]) {
        let minute = unix_seconds.div_euclid(60) * 60;
        let at = match self.counts.iter().position(|(m, _)| *m == minute) {
            Some(i) => i,
            None => {
                self.counts.push((minute, [[0; 4]; 4]));
                self.counts.len() - 1
            }
        };
        self.counts[at].1[action as usize][category as usize] += 1;
        for (kind, value) in blocked_sources {
            self.top.push((minute, *kind, Box::from(*value)));
        }
    }
}

/// The statistics of this node.
#[derive(Debug, Default)]
pub struct Stats {
    pending: Mutex<Pending>,
    /// Serializes flushes, so that counts reach the store exactly once.
    flushing: tokio::sync::Mutex<()>,
}

impl Stats {
    /// Merges a request's counts.
    pub fn merge(&self, tally: Tally) {
        let Ok(mut p) = self.pending.lock() else { return };
        for (minute, counts) in tally.counts {
            let slot = p.counts.entry(minute).or_default();
            for (a, row) in counts.iter().enumerate() {
                for (c, n) in row.iter().enumerate() {
                    slot[a][c] += n;
                }
            }
        }
        for key in tally.top {
            if p.top.len() >= MAX_TOP_KEYS && !p.top.contains_key(&key) {
                p.dropped_top += 1;
                continue;
            }
            *p.top.entry(key).or_default() += 1;
        }
    }

    /// Writes the pending counts to the store. On failure they are kept for the next flush.
    pub async fn flush(&self, store: &AnyRecords) -> Result<(), StoreError> {
        let _one_at_a_time = self.flushing.lock().await;
        let taken = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(()),
        };
        if taken.dropped_top > 0 {
            tracing::warn!(
                dropped = taken.dropped_top,
                "too many distinct blocked senders and domains to rank in one flush"
            );
        }
        let mut rows = Vec::new();
        for (&bucket, counts) in &taken.counts {
            for action in Action::ALL {
                for category in Category::ALL {
                    let count = counts[action as usize][category as usize];
                    if count > 0 {
                        rows.push(StatsRow {
                            bucket,
                            action,
                            category,
                            count,
                        });
                    }
                }
            }
        }
        let top: Vec<TopRow> = taken
            .top
            .iter()
            .map(|((bucket, kind, value), &count)| TopRow {
                bucket: *bucket,
                kind: *kind,
                value: value.to_string(),
                count,
            })
            .collect();
        if let Err(e) = store.add_stats(&rows, &top).await {
            // Put the counts back for the next flush.
            if let Ok(mut p) = self.pending.lock() {
                for (minute, counts) in taken.counts {
                    let slot = p.counts.entry(minute).or_default();
                    for (a, row) in counts.iter().enumerate() {
                        for (c, n) in row.iter().enumerate() {
                            slot[a][c] += n;
                        }
                    }
                }
                for (key, n) in taken.top {
                    if p.top.len() < MAX_TOP_KEYS || p.top.contains_key(&key) {
                        *p.top.entry(key).or_default() += n;
                    }
                }
            }
            return Err(e);
        }
        Ok(())
    }
}
