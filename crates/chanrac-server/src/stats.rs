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
    /// Per operator and minute, and per minute and channel, kept as grids (as in [`Tally`])
    /// until the flush turns them into rows: merging a request's counts then allocates
    /// nothing for an operator and a minute already seen.
    operators: HashMap<Box<str>, HashMap<i64, Grid>>,
    channels: HashMap<i64, [Grid; 3]>,
    /// The (operator, minute) and (minute) grids held; with `dims`, bounded by
    /// [`MAX_TOP_KEYS`].
    grids: usize,
    dropped_dims: u64,
}

impl Pending {
    /// True when no new dimension key may be added before the next flush.
    fn dims_full(&self) -> bool {
        self.dims.len() + self.grids >= MAX_TOP_KEYS
    }

    /// Adds grids per operator and minute and per minute and channel (a request's, or a
    /// failed flush's put back).
    fn add_grids(&mut self, operators: &HashMap<Box<str>, HashMap<i64, Grid>>, channels: &HashMap<i64, [Grid; 3]>) {
        for (operator, minutes) in operators {
            for (&minute, g) in minutes {
                self.add_operator(operator, minute, g);
            }
        }
        for (&minute, per_channel) in channels {
            self.add_channels(minute, per_channel);
        }
    }

    /// Adds an operator's counts in one minute.
    fn add_operator(&mut self, operator: &str, minute: i64, g: &Grid) {
        let full = self.dims_full();
        let by_minute = match self.operators.get_mut(operator) {
            Some(m) => m,
            None if full => {
                self.dropped_dims += grid_total(g);
                return;
            }
            None => self.operators.entry(operator.into()).or_default(),
        };
        match by_minute.get_mut(&minute) {
            Some(slot) => add_grid(slot, g),
            None if full => self.dropped_dims += grid_total(g),
            None => {
                by_minute.insert(minute, *g);
                self.grids += 1;
            }
        }
    }

    /// Adds the counts of one minute per channel.
    fn add_channels(&mut self, minute: i64, per_channel: &[Grid; 3]) {
        let full = self.dims_full();
        match self.channels.get_mut(&minute) {
            Some(slot) => {
                for (s, g) in slot.iter_mut().zip(per_channel) {
                    add_grid(s, g);
                }
            }
            None if full => self.dropped_dims += per_channel.iter().map(grid_total).sum::<u64>(),
            None => {
                self.channels.insert(minute, *per_channel);
                self.grids += 1;
            }
        }
    }

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

/// Adds `g` to `slot`, cell by cell.
fn add_grid(slot: &mut Grid, g: &Grid) {
    for (srow, row) in slot.iter_mut().zip(g) {
        for (s, n) in srow.iter_mut().zip(row) {
            *s += n;
        }
    }
}

/// The messages a grid counts.
fn grid_total(g: &Grid) -> u64 {
    g.iter().flatten().sum()
}

/// The cells of a grid that counted something: action, category, count.
fn grid_cells(g: &Grid) -> impl Iterator<Item = (Action, Category, u64)> + '_ {
    Action::ALL.into_iter().flat_map(move |action| {
        Category::ALL
            .into_iter()
            .map(move |category| (action, category, g[action as usize][category as usize]))
            .filter(|&(_, _, count)| count > 0)
    })
}

/// The dimension rows of a grid: one per action and category counted.
fn grid_rows(rows: &mut Vec<DimRow>, bucket: i64, dimension: Dimension, key: &str, g: &Grid) {
    rows.extend(grid_cells(g).map(|(action, category, count)| DimRow {
        bucket,
        dimension,
        key: key.to_string(),
        action: action.as_str().to_string(),
        label: category.as_str().to_string(),
        count,
    }));
}

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
    /// a message allocates nothing for an operator already seen; [`Stats::merge`] adds them
    /// to the node's grids the same way, and they become rows only at the flush.
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
        p.add_grids(&tally.operators, &tally.channels);
        for (key, n) in tally.dims {
            if p.dims_full() && !p.dims.contains_key(&key) {
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
            rows.extend(grid_cells(counts).map(|(action, category, count)| StatsRow {
                bucket,
                action,
                category,
                count,
            }));
        }
        let mut dims: Vec<DimRow> = taken
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
        for (operator, minutes) in &taken.operators {
            for (&minute, g) in minutes {
                grid_rows(&mut dims, minute, Dimension::Operator, operator, g);
            }
        }
        for (&minute, per_channel) in &taken.channels {
            for (channel, g) in CHANNELS.iter().zip(per_channel) {
                grid_rows(&mut dims, minute, Dimension::Channel, channel.as_str(), g);
            }
        }
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
                p.add_grids(&taken.operators, &taken.channels);
            }
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(action: Action, category: Category) -> Verdict {
        Verdict {
            action,
            category,
            score: 0.0,
            reasons: Vec::new(),
        }
    }

    fn message(operator: &str, at: i64) -> Message {
        let mut m = Message::text("xin chao").from("0912345678").at(at);
        m.meta.operator = Some(operator.to_string());
        m
    }

    /// Records one message per (operator, time) in its own request, as single checks do.
    fn merge_each(stats: &Stats, messages: &[(&str, i64, Action, Category)]) {
        for &(operator, at, action, category) in messages {
            let mut t = Tally::default();
            t.record(
                at,
                &message(operator, at),
                &verdict(action, category),
                std::iter::empty(),
                None,
            );
            stats.merge(t);
        }
    }

    #[test]
    fn requests_add_up_per_operator_minute_and_channel() {
        let stats = Stats::default();
        let (tag, spam) = (Action::Tag, Category::Spam);
        merge_each(
            &stats,
            &[
                ("Viettel", 120, tag, spam),
                ("viettel", 150, tag, spam),
                ("viettel", 181, Action::Allow, Category::Ham),
                ("mobifone", 130, tag, spam),
            ],
        );
        let p = stats.pending.lock().unwrap();
        assert_eq!(p.operators.len(), 2, "operators are counted case-insensitively");
        let viettel = &p.operators["viettel"];
        assert_eq!(viettel[&120][tag as usize][spam as usize], 2);
        assert_eq!(viettel[&180][Action::Allow as usize][Category::Ham as usize], 1);
        assert_eq!(grid_total(&p.operators["mobifone"][&120]), 1);
        let sms = Channel::Sms as usize;
        assert_eq!(p.channels[&120][sms][tag as usize][spam as usize], 3);
        assert_eq!(grid_total(&p.channels[&180][sms]), 1);
        // viettel@120, viettel@180, mobifone@120, and the minutes 120 and 180.
        assert_eq!(p.grids, 5);
        assert_eq!(p.dropped_dims, 0);
    }

    #[test]
    fn grids_become_one_row_per_counted_cell() {
        let mut g = Grid::default();
        g[Action::Block as usize][Category::Scam as usize] = 3;
        g[Action::Allow as usize][Category::Ham as usize] = 1;
        let mut rows = Vec::new();
        grid_rows(&mut rows, 60, Dimension::Operator, "viettel", &g);
        rows.sort_by(|a, b| a.action.cmp(&b.action));
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.action.as_str(), r.label.as_str(), r.count))
            .collect();
        assert_eq!(got, [("allow", "ham", 1), ("block", "scam", 3)]);
        assert!(
            rows.iter()
                .all(|r| r.bucket == 60 && r.key == "viettel" && r.dimension == Dimension::Operator)
        );
    }

    #[test]
    fn new_keys_past_the_bound_are_dropped_and_counted_old_ones_still_add_up() {
        let stats = Stats::default();
        {
            let mut p = stats.pending.lock().unwrap();
            p.grids = MAX_TOP_KEYS - 1;
        }
        let (tag, spam) = (Action::Tag, Category::Spam);
        // viettel@60 takes the last place; the channel grid of minute 60 is dropped.
        merge_each(&stats, &[("viettel", 60, tag, spam)]);
        // New keys are dropped: viettel@600 and minute 600, mobifone and minute 60 again;
        // viettel@60 exists and still adds up (its minute's channel grid is dropped).
        merge_each(
            &stats,
            &[
                ("viettel", 600, tag, spam),
                ("mobifone", 60, tag, spam),
                ("viettel", 70, tag, spam),
            ],
        );
        let p = stats.pending.lock().unwrap();
        assert_eq!(p.grids, MAX_TOP_KEYS);
        assert_eq!(p.operators.len(), 1);
        assert_eq!(p.operators["viettel"].len(), 1);
        assert_eq!(p.operators["viettel"][&60][tag as usize][spam as usize], 2);
        assert!(p.channels.is_empty());
        assert_eq!(p.dropped_dims, 6);
    }
}
