//! Traffic statistics: counts per minute, action and category, and the senders and domains
//! of blocked messages; the same counts by the sender's operator and by channel, ad rule
//! violations by advertiser, and call records and suspects by operator (the ministry's
//! report). Requests add to in-memory counts (one short lock per request, never per
//! message); a background task flushes them to the store every few seconds, where they add
//! up across nodes. `GET /v1/stats` and `GET /v1/report` flush first, so that they count
//! every message answered before them. (The verdict log has its own writer: `verdict_log`.)
//!
//! A message counts in the minute it was received (its `received_at`, which defaults to
//! now; a time in the future counts now), so that traffic replayed or submitted late lands
//! in the period it belongs to.

use std::collections::HashMap;
use std::sync::Mutex;

use chanrac_core::{Action, Category, Channel, Message, Verdict};

use chanrac_store::records::{DimRow, Dimension, Records, StatsRow, TopKind, TopRow};
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
    dims: HashMap<DimKey, u64>,
    dropped_dims: u64,
}

impl Pending {
    /// Puts counts that could not be written back for the next flush.
    fn merge_counts(&mut self, counts: HashMap<i64, [[u64; 4]; 4]>, top: HashMap<(i64, TopKind, Box<str>), u64>) {
        for (minute, counts) in counts {
            let slot = self.counts.entry(minute).or_default();
            for (a, row) in counts.iter().enumerate() {
                for (c, n) in row.iter().enumerate() {
                    slot[a][c] += n;
                }
            }
        }
        for (key, n) in top {
            if self.top.len() < MAX_TOP_KEYS || self.top.contains_key(&key) {
                *self.top.entry(key).or_default() += n;
            }
        }
    }
}

/// A count by dimension: minute, dimension, key, action, label (see [`Dimension`]).
type DimKey = (i64, Dimension, Box<str>, Box<str>, Box<str>);

/// Counts per action and category (indexed by `Action as usize`, `Category as usize`).
type Grid = [[u64; 4]; 4];

/// The channels, indexed by `Channel as usize`.
const CHANNELS: [Channel; 3] = [Channel::Sms, Channel::Ott, Channel::Email];
const _: () = assert!(Channel::Sms as usize == 0 && Channel::Ott as usize == 1 && Channel::Email as usize == 2);

/// Counts gathered by one request, merged into [`Stats`] at its end.
#[derive(Debug, Default)]
pub struct Tally {
    counts: HashMap<i64, Grid>,
    top: Vec<(i64, TopKind, Box<str>)>,
    dims: HashMap<DimKey, u64>,
    /// Per operator and minute, and per minute and channel: kept as grids so that counting
    /// a message allocates nothing for an operator already seen; they become [`DimKey`]s
    /// once per request, in [`Stats::merge`].
    operators: HashMap<Box<str>, HashMap<i64, Grid>>,
    channels: HashMap<i64, [Grid; 3]>,
    /// Every message [`Tally::record`] counted, whatever its minute.
    checked: Grid,
}

impl Tally {
    /// Counts a checked message (in the minute of its `received_at`, at most `now`). A
    /// blocked message's sender and link `domains` are ranked. `advertiser` is the
    /// advertiser (or sender) of a message judged as an ad: its `AD_*` signals but
    /// `AD_LABEL` count as violations.
    pub fn record<'a>(
        &mut self,
        now: i64,
        msg: &Message,
        v: &Verdict,
        domains: impl Iterator<Item = &'a str>,
        advertiser: Option<&str>,
    ) {
        let received = msg.received_at.map_or(now, |t| t.min(now));
        let minute = received.div_euclid(60) * 60;
        let (a, c) = (v.action as usize, v.category as usize);
        let operator = msg.meta.operator.as_deref().unwrap_or("").trim();
        let by_minute = match self.operators.get_mut(operator) {
            Some(m) if !operator.bytes().any(|b| b.is_ascii_uppercase()) => m,
            _ => self.operators.entry(operator.to_lowercase().into()).or_default(),
        };
        by_minute.entry(minute).or_default()[a][c] += 1;
        self.channels.entry(minute).or_default()[msg.channel as usize][a][c] += 1;
        self.checked[a][c] += 1;
        let action = v.action.as_str();
        if let Some(a) = advertiser {
            for r in v
                .reasons
                .iter()
                .filter(|r| chanrac_hub::ministry::is_ad_violation(&r.signal))
            {
                self.dim(minute, Dimension::Ad, a, action, &r.signal, 1);
            }
        }
        let now = received;
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

    /// The messages [`Tally::record`] counted, per action and category (indexed by
    /// `Action as usize`, `Category as usize`).
    pub fn checked(&self) -> &[[u64; 4]; 4] {
        &self.checked
    }

    /// Adds `n` to a count by dimension in the minute that starts at `minute`.
    pub fn dim(&mut self, minute: i64, dimension: Dimension, key: &str, action: &str, label: &str, n: u64) {
        *self
            .dims
            .entry((minute, dimension, key.into(), action.into(), label.into()))
            .or_default() += n;
    }

    /// Counts one verdict received at `unix_seconds`; `blocked_sources` are the sender key
    /// and the link domains of a blocked message (empty otherwise).
    pub fn add(&mut self, unix_seconds: i64, action: Action, category: Category, blocked_sources: &[(TopKind, &str)]) {
        let minute = unix_seconds.div_euclid(60) * 60;
        self.counts.entry(minute).or_default()[action as usize][category as usize] += 1;
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
        p.merge_counts(tally.counts, HashMap::new());
        let mut dims = tally.dims;
        let mut grid = |minute: i64, dimension: Dimension, key: &str, g: &Grid| {
            for action in Action::ALL {
                for category in Category::ALL {
                    let n = g[action as usize][category as usize];
                    if n > 0 {
                        let k = (
                            minute,
                            dimension,
                            key.into(),
                            action.as_str().into(),
                            category.as_str().into(),
                        );
                        *dims.entry(k).or_default() += n;
                    }
                }
            }
        };
        for (operator, minutes) in &tally.operators {
            for (&minute, g) in minutes {
                grid(minute, Dimension::Operator, operator, g);
            }
        }
        for (&minute, per_channel) in &tally.channels {
            for (channel, g) in CHANNELS.iter().zip(per_channel) {
                grid(minute, Dimension::Channel, channel.as_str(), g);
            }
        }
        for (key, n) in dims {
            if p.dims.len() >= MAX_TOP_KEYS && !p.dims.contains_key(&key) {
                p.dropped_dims += n;
                continue;
            }
            *p.dims.entry(key).or_default() += n;
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
        let dims: Vec<DimRow> = taken
            .dims
            .iter()
            .map(|((bucket, dimension, key, action, label), &count)| DimRow {
                bucket: *bucket,
                dimension: *dimension,
                key: key.to_string(),
                action: action.to_string(),
                label: label.to_string(),
                count,
            })
            .collect();
        if taken.dropped_dims > 0 {
            tracing::warn!(
                dropped = taken.dropped_dims,
                "too many distinct operators, advertisers and minutes to count in one flush"
            );
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
        if let Err(e) = store.add_all_stats(&rows, &top, &dims).await {
            // Put the counts back for the next flush.
            if let Ok(mut p) = self.pending.lock() {
                p.merge_counts(taken.counts, taken.top);
                for (key, n) in taken.dims {
                    *p.dims.entry(key).or_default() += n;
                }
            }
            return Err(e);
        }
        Ok(())
    }
}
