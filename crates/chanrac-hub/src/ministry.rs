//! The ministry's periodic report (Decree 91/2020: statistics every quarter and six months):
//! its period, its figures and how they are written (Markdown, HTML with SVG charts, CSV,
//! JSON), without I/O.
//!
//! The caller reads the store and feeds a [`Builder`] with rows (per-minute message counts,
//! counts by operator, channel, call and advertiser, the hub's reports, DNC requests and ad
//! copies); [`Builder::finish`] sums them into [`Figures`], which [`render`] writes in a
//! [`Format`]. Periods are whole days in Vietnam time: `2026-07-01` to `2026-09-30` is
//! 2026-07-01T00:00+07:00 up to (not including) 2026-10-01T00:00+07:00.
//!
//! ```
//! use chanrac_hub::ministry::{Builder, Format, Period, render};
//!
//! let p = Period::preset("2026Q3").unwrap();
//! assert_eq!(p.from, Period::dates("2026-07-01", "2026-09-30").unwrap().from);
//! let mut b = Builder::new(p.clone(), None);
//! b.message(p.from + 60, "block", "scam", 3);
//! b.message(p.from + 86_400, "allow", "ham", 10);
//! let f = b.finish();
//! assert_eq!((f.messages.checked, f.messages.blocked), (13, 3));
//! assert!(render(&f, Format::Html).contains("<svg"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chanrac_core::message::VIETNAM_UTC_OFFSET;
use serde::Serialize;

const DAY: i64 = 86_400;

/// Whether a signal is a breach of the advertising rules (every `AD_*` signal but
/// `AD_LABEL`, which only says that a message is labelled as an ad).
pub fn is_ad_violation(signal: &str) -> bool {
    signal.starts_with("AD_") && signal != "AD_LABEL"
}

/// The longest period a report covers (ten years).
pub const MAX_DAYS: i64 = 3_660;

/// Why a period or a format was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A date that is not `YYYY-MM-DD`.
    #[error("{field} {value:?} is not a date (YYYY-MM-DD): {reason}")]
    BadDate {
        /// `from` or `to`.
        field: &'static str,
        /// What was given.
        value: String,
        /// Why.
        reason: String,
    },
    /// `from` after `to`.
    #[error("the period runs backwards: from {from} is after to {to}")]
    Backwards {
        /// The first day.
        from: String,
        /// The last day.
        to: String,
    },
    /// A period longer than [`MAX_DAYS`].
    #[error("a report covers at most {MAX_DAYS} days; {0} asked")]
    TooLong(i64),
    /// A preset that is not `YYYYQ1`–`YYYYQ4` or `YYYYH1`/`YYYYH2`.
    #[error("{0:?} is not a period: use 2026Q3 (a quarter) or 2026H2 (a half year)")]
    BadPreset(String),
    /// An unknown output format.
    #[error("{0:?} is not a report format: use md, html, csv or json")]
    BadFormat(String),
    /// An unknown trend granularity.
    #[error("{0:?} is not a trend step: use day or week")]
    BadStep(String),
}

/// A report's period: whole days in Vietnam time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Its start, Unix seconds (00:00 Vietnam time of the first day).
    pub from: i64,
    /// Its end, exclusive, Unix seconds (00:00 Vietnam time after the last day).
    pub to: i64,
    /// Its name: `2026Q3`, `2026H2`, or `2026-07-01..2026-09-30`.
    pub name: String,
}

fn parse_date(field: &'static str, s: &str) -> Result<time::Date, ReportError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &fmt).map_err(|e| ReportError::BadDate {
        field,
        value: s.to_string(),
        reason: e.to_string(),
    })
}

/// 00:00 Vietnam time of `d`, in Unix seconds.
fn vn_midnight(d: time::Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() - VIETNAM_UTC_OFFSET
}

/// The Vietnam date of a Unix time, as `YYYY-MM-DD`.
pub fn vn_date(unix: i64) -> String {
    let days = (unix + VIETNAM_UTC_OFFSET).div_euclid(DAY);
    match time::OffsetDateTime::from_unix_timestamp(days * DAY) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day()),
        Err(_) => unix.to_string(),
    }
}

/// A Unix time in RFC 3339, Vietnam time (`2026-07-01T00:00:00+07:00`).
pub fn vn_rfc3339(unix: i64) -> String {
    let offset = time::UtcOffset::from_whole_seconds(VIETNAM_UTC_OFFSET as i32).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .map(|t| t.to_offset(offset))
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

impl Period {
    /// From the first to the last day, both included (`YYYY-MM-DD`).
    pub fn dates(from: &str, to: &str) -> Result<Period, ReportError> {
        let (f, t) = (parse_date("from", from)?, parse_date("to", to)?);
        if f > t {
            return Err(ReportError::Backwards {
                from: from.trim().to_string(),
                to: to.trim().to_string(),
            });
        }
        let days = (t - f).whole_days() + 1;
        if days > MAX_DAYS {
            return Err(ReportError::TooLong(days));
        }
        let end = t.next_day().ok_or_else(|| ReportError::BadDate {
            field: "to",
            value: to.to_string(),
            reason: "the last day of the calendar".into(),
        })?;
        Ok(Period {
            from: vn_midnight(f),
            to: vn_midnight(end),
            name: format!("{f}..{t}"),
        })
    }

    /// A quarter (`2026Q3`) or a half year (`2026H2`).
    pub fn preset(s: &str) -> Result<Period, ReportError> {
        let bad = || ReportError::BadPreset(s.to_string());
        let u = s.trim().to_ascii_uppercase();
        if u.len() != 6 || !u.is_ascii() {
            return Err(bad());
        }
        let (year, part) = u.split_at(4);
        let year: i32 = year.parse().map_err(|_| bad())?;
        let (first_month, months) = match part {
            "Q1" => (1, 3),
            "Q2" => (4, 3),
            "Q3" => (7, 3),
            "Q4" => (10, 3),
            "H1" => (1, 6),
            "H2" => (7, 6),
            _ => return Err(bad()),
        };
        let month = |m: u8| time::Month::try_from(m).map_err(|_| bad());
        let start = time::Date::from_calendar_date(year, month(first_month)?, 1).map_err(|_| bad())?;
        let end = if first_month + months > 12 {
            time::Date::from_calendar_date(year + 1, time::Month::January, 1)
        } else {
            time::Date::from_calendar_date(year, month(first_month + months)?, 1)
        }
        .map_err(|_| bad())?;
        Ok(Period {
            from: vn_midnight(start),
            to: vn_midnight(end),
            name: u,
        })
    }

    /// Its length in days.
    pub fn days(&self) -> i64 {
        (self.to - self.from) / DAY
    }
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown.
    Md,
    /// One HTML page with inline SVG charts (no scripts).
    Html,
    /// CSV: `section,key,item,value` lines.
    Csv,
    /// JSON: [`Figures`].
    Json,
}

impl Format {
    /// Parses `md` (or `markdown`), `html`, `csv` or `json`.
    pub fn parse(s: &str) -> Result<Format, ReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Format::Md),
            "html" => Ok(Format::Html),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(ReportError::BadFormat(s.to_string())),
        }
    }

    /// The media type of the rendered report.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Md => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// The step of the trend: a day, or a week (from the period's first day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// One day.
    Day,
    /// Seven days.
    Week,
}

impl Step {
    /// Parses `day` or `week`.
    pub fn parse(s: &str) -> Result<Step, ReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Ok(Step::Day),
            "week" => Ok(Step::Week),
            _ => Err(ReportError::BadStep(s.to_string())),
        }
    }

    /// Days for periods up to 62 days, weeks beyond.
    pub fn for_period(p: &Period) -> Step {
        if p.days() <= 62 { Step::Day } else { Step::Week }
    }

    /// Its length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Step::Day => DAY,
            Step::Week => 7 * DAY,
        }
    }
}

/// Checked messages by action and category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Messages {
    /// Every checked message.
    pub checked: u64,
    /// Blocked ones.
    pub blocked: u64,
    /// Per action (`allow`, `tag`, `quarantine`, `block`).
    pub by_action: BTreeMap<String, u64>,
    /// Per category (`ham`, `ad`, `spam`, `scam`).
    pub by_category: BTreeMap<String, u64>,
    /// Blocked ones per category.
    pub blocked_by_category: BTreeMap<String, u64>,
}

impl Messages {
    fn add(&mut self, action: &str, category: &str, n: u64) {
        self.checked += n;
        *self.by_action.entry(action.to_string()).or_default() += n;
        *self.by_category.entry(category.to_string()).or_default() += n;
        if action == "block" {
            self.blocked += n;
            *self.blocked_by_category.entry(category.to_string()).or_default() += n;
        }
    }
}

/// Messages of one operator or channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Slice {
    /// The operator (`unknown` when messages did not say) or channel.
    pub name: String,
    /// Its messages.
    #[serde(flatten)]
    pub messages: Messages,
}

/// Call records and suspects of one operator, or suspects of one category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallRow {
    /// The operator (`unknown` when records did not say) or the call category.
    pub name: String,
    /// Call records checked (for an operator).
    pub checked: u64,
    /// Numbers suspected.
    pub suspected: u64,
    /// Numbers blocked.
    pub blocked: u64,
}

/// Calls: records checked, numbers suspected and blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    /// Call records checked.
    pub checked: u64,
    /// Numbers suspected (each once, when first suspected).
    pub suspected: u64,
    /// Numbers blocked.
    pub blocked: u64,
    /// Per operator.
    pub by_operator: Vec<CallRow>,
    /// Per call category (robocall, telemarketing, wangiri, spoofed, scam, sms_source).
    pub by_category: Vec<CallRow>,
}

/// A ranked source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    /// The sender, domain or reported source.
    pub value: String,
    /// Blocked messages (senders, domains) or reports (reported sources).
    pub count: u64,
    /// Distinct reporters (reported sources only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporters: Option<u64>,
    /// Its status at the hub now (reported sources only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Reports received and how they were handled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reports {
    /// Reports received.
    pub received: u64,
    /// Per status (`open`, `confirmed`, `rejected`).
    pub by_status: BTreeMap<String, u64>,
    /// Per kind (`spam`, `call`, `fraud`, `unparsed`).
    pub by_kind: BTreeMap<String, u64>,
    /// Per way in (`sms`, `smpp`, `api`).
    pub by_via: BTreeMap<String, u64>,
    /// The most reported sources.
    pub top_sources: Vec<Ranked>,
}

/// Do-Not-Call requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dnc {
    /// Registrations that changed the register.
    pub registrations: u64,
    /// Cancellations that changed the register.
    pub cancellations: u64,
    /// Requests that changed nothing (registering twice).
    pub unchanged: u64,
    /// Requests per way in (`sms`, `smpp`, `api`, `import`).
    pub by_via: BTreeMap<String, u64>,
}

/// Advertising rule violations of one advertiser.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AdRow {
    /// The advertiser's code, or the sender of an unregistered one.
    pub advertiser: String,
    /// Violations (one per violation signal per message, see [`is_ad_violation`]).
    pub violations: u64,
    /// Violations in messages that were blocked.
    pub blocked: u64,
    /// Per signal.
    pub by_signal: BTreeMap<String, u64>,
}

/// Advertising: copies received and violations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ads {
    /// Ad copies advertisers sent the hub.
    pub copies: u64,
    /// Violations found by the firewall.
    pub violations: u64,
    /// Per advertiser, most violations first.
    pub by_advertiser: Vec<AdRow>,
}

/// One step of the trend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrendRow {
    /// Its first day (Vietnam time).
    pub start: String,
    /// Messages checked.
    pub messages: u64,
    /// Messages blocked.
    pub blocked: u64,
    /// Call records checked.
    pub calls: u64,
    /// Reports received.
    pub reports: u64,
}

/// Everything a report says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// The period's name.
    pub period: String,
    /// Its start (RFC 3339, Vietnam time).
    pub from: String,
    /// Its end, exclusive.
    pub to: String,
    /// Its length in days.
    pub days: i64,
    /// When the report was made (RFC 3339), when the caller says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<String>,
    /// The trend's step.
    pub step: Step,
    /// Messages checked (SMS, OTT, e-mail).
    pub messages: Messages,
    /// Per sender's operator.
    pub by_operator: Vec<Slice>,
    /// Per channel.
    pub by_channel: Vec<Slice>,
    /// Calls.
    pub calls: Calls,
    /// Senders with the most blocked messages.
    pub top_senders: Vec<Ranked>,
    /// Domains in the most blocked messages.
    pub top_domains: Vec<Ranked>,
    /// Reports from subscribers and operators.
    pub reports: Reports,
    /// The Do-Not-Call register.
    pub dnc: Dnc,
    /// Advertising.
    pub ads: Ads,
    /// Per step, every step of the period.
    pub trend: Vec<TrendRow>,
}

/// Sums rows into [`Figures`].
#[derive(Debug)]
pub struct Builder {
    period: Period,
    step: Step,
    generated_at: Option<i64>,
    messages: Messages,
    operators: BTreeMap<String, Messages>,
    channels: BTreeMap<String, Messages>,
    call_operators: BTreeMap<String, CallRow>,
    call_categories: BTreeMap<String, CallRow>,
    ads: BTreeMap<String, AdRow>,
    figures_rest: Rest,
    trend: Vec<TrendRow>,
}

#[derive(Debug, Default)]
struct Rest {
    top_senders: Vec<Ranked>,
    top_domains: Vec<Ranked>,
    reports: Reports,
    dnc: Dnc,
    copies: u64,
}

fn known(name: &str) -> String {
    if name.trim().is_empty() {
        "unknown".to_string()
    } else {
        name.to_string()
    }
}

impl Builder {
    /// A report over `period`, its trend by [`Step::for_period`]; `generated_at` (Unix
    /// seconds) is printed when given.
    pub fn new(period: Period, generated_at: Option<i64>) -> Builder {
        let step = Step::for_period(&period);
        Builder::with_step(period, step, generated_at)
    }

    /// A report over `period` with its trend by `step`.
    pub fn with_step(period: Period, step: Step, generated_at: Option<i64>) -> Builder {
        let n = (period.to - period.from).div_euclid(step.seconds()).max(0)
            + i64::from((period.to - period.from) % step.seconds() != 0);
        let trend = (0..n)
            .map(|i| TrendRow {
                start: vn_date(period.from + i * step.seconds()),
                ..TrendRow::default()
            })
            .collect();
        Builder {
            period,
            step,
            generated_at,
            messages: Messages::default(),
            operators: BTreeMap::new(),
            channels: BTreeMap::new(),
            call_operators: BTreeMap::new(),
            call_categories: BTreeMap::new(),
            ads: BTreeMap::new(),
            figures_rest: Rest::default(),
            trend,
        }
    }

    /// The period.
    pub fn period(&self) -> &Period {
        &self.period
    }

    /// The trend's step.
    pub fn step(&self) -> Step {
        self.step
    }

    fn step_of(&mut self, at: i64) -> Option<&mut TrendRow> {
        if at < self.period.from || at >= self.period.to {
            return None;
        }
        let i = ((at - self.period.from) / self.step.seconds()) as usize;
        self.trend.get_mut(i)
    }

    /// `n` messages checked in the minute starting at `bucket` (Unix seconds); rows outside
    /// the period are ignored.
    pub fn message(&mut self, bucket: i64, action: &str, category: &str, n: u64) {
        let Some(t) = self.step_of(bucket) else { return };
        t.messages += n;
        if action == "block" {
            t.blocked += n;
        }
        self.messages.add(action, category, n);
    }

    /// A count by dimension (`operator`, `channel`, `calls`, `ad`; see the store's
    /// `Dimension`); rows outside the period or of other dimensions are ignored.
    pub fn dim(&mut self, dimension: &str, bucket: i64, key: &str, action: &str, label: &str, n: u64) {
        let Some(t) = self.step_of(bucket) else { return };
        match dimension {
            "operator" => self.operators.entry(known(key)).or_default().add(action, label, n),
            "channel" => self.channels.entry(known(key)).or_default().add(action, label, n),
            "calls" => {
                if action == "checked" {
                    t.calls += n;
                }
                let op = self.call_operators.entry(known(key)).or_default();
                let cat = self.call_categories.entry(known(label)).or_default();
                match action {
                    "checked" => op.checked += n,
                    "suspected" => {
                        op.suspected += n;
                        cat.suspected += n;
                    }
                    "blocked" => {
                        op.blocked += n;
                        cat.blocked += n;
                    }
                    _ => {}
                }
            }
            "ad" => {
                let a = self.ads.entry(known(key)).or_default();
                a.violations += n;
                if action == "block" {
                    a.blocked += n;
                }
                *a.by_signal.entry(label.to_string()).or_default() += n;
            }
            _ => {}
        }
    }

    /// The senders and domains with the most blocked messages.
    pub fn top(&mut self, senders: Vec<(String, u64)>, domains: Vec<(String, u64)>) {
        let rank = |v: Vec<(String, u64)>| {
            v.into_iter()
                .map(|(value, count)| Ranked {
                    value,
                    count,
                    reporters: None,
                    status: None,
                })
                .collect()
        };
        self.figures_rest.top_senders = rank(senders);
        self.figures_rest.top_domains = rank(domains);
    }

    /// `n` reports of a kind, way in and status received in the period.
    pub fn reports(&mut self, kind: &str, via: &str, status: &str, n: u64) {
        let r = &mut self.figures_rest.reports;
        r.received += n;
        *r.by_kind.entry(kind.to_string()).or_default() += n;
        *r.by_via.entry(via.to_string()).or_default() += n;
        *r.by_status.entry(status.to_string()).or_default() += n;
    }

    /// `n` reports received in the step that contains `at` (Unix seconds).
    pub fn reports_at(&mut self, at: i64, n: u64) {
        if let Some(t) = self.step_of(at) {
            t.reports += n;
        }
    }

    /// A source reported `reports` times by `reporters` distinct reporters in the period.
    pub fn reported_source(&mut self, key: &str, reports: u64, reporters: u64, status: &str) {
        self.figures_rest.reports.top_sources.push(Ranked {
            value: key.to_string(),
            count: reports,
            reporters: Some(reporters),
            status: Some(status.to_string()),
        });
    }

    /// `requests` DNC requests of an action (`register`, `cancel`) and way in, of which
    /// `changed` changed the register.
    pub fn dnc(&mut self, action: &str, via: &str, requests: u64, changed: u64) {
        let d = &mut self.figures_rest.dnc;
        match action {
            "register" => d.registrations += changed,
            "cancel" => d.cancellations += changed,
            _ => {}
        }
        d.unchanged += requests.saturating_sub(changed);
        *d.by_via.entry(via.to_string()).or_default() += requests;
    }

    /// Ad copies received in the period.
    pub fn ad_copies(&mut self, n: u64) {
        self.figures_rest.copies += n;
    }

    /// The figures.
    pub fn finish(self) -> Figures {
        let slices = |m: BTreeMap<String, Messages>| {
            let mut v: Vec<Slice> = m.into_iter().map(|(name, messages)| Slice { name, messages }).collect();
            v.sort_by(|a, b| b.messages.checked.cmp(&a.messages.checked).then(a.name.cmp(&b.name)));
            v
        };
        let rows = |m: BTreeMap<String, CallRow>, keep: fn(&CallRow) -> bool| {
            m.into_iter()
                .map(|(name, r)| CallRow { name, ..r })
                .filter(keep)
                .collect::<Vec<_>>()
        };
        let by_operator = rows(self.call_operators, |_| true);
        let calls = Calls {
            checked: by_operator.iter().map(|r| r.checked).sum(),
            suspected: by_operator.iter().map(|r| r.suspected).sum(),
            blocked: by_operator.iter().map(|r| r.blocked).sum(),
            by_category: rows(self.call_categories, |r| r.suspected + r.blocked > 0),
            by_operator,
        };
        let mut by_advertiser: Vec<AdRow> = self
            .ads
            .into_iter()
            .map(|(advertiser, r)| AdRow { advertiser, ..r })
            .collect();
        by_advertiser.sort_by(|a, b| b.violations.cmp(&a.violations).then(a.advertiser.cmp(&b.advertiser)));
        let rest = self.figures_rest;
        Figures {
            period: self.period.name.clone(),
            from: vn_rfc3339(self.period.from),
            to: vn_rfc3339(self.period.to),
            days: self.period.days(),
            generated_at: self.generated_at.map(vn_rfc3339),
            step: self.step,
            messages: self.messages,
            by_operator: slices(self.operators),
            by_channel: slices(self.channels),
            calls,
            top_senders: rest.top_senders,
            top_domains: rest.top_domains,
            reports: rest.reports,
            dnc: rest.dnc,
            ads: Ads {
                copies: rest.copies,
                violations: by_advertiser.iter().map(|a| a.violations).sum(),
                by_advertiser,
            },
            trend: self.trend,
        }
    }
}

/// Writes the figures in a format.
pub fn render(f: &Figures, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(f).unwrap_or_default() + "\n",
        Format::Csv => csv_lines(f),
        Format::Md => markdown(f),
        Format::Html => html(f),
    }
}

/// Headings and labels, Vietnamese then English.
mod text {
    pub const TITLE: &str = "Báo cáo thống kê tin nhắn rác, cuộc gọi rác / Spam messages and calls report";
    pub const PERIOD: &str = "Kỳ báo cáo / Period";
    pub const MESSAGES: &str = "Tin nhắn đã kiểm tra / Messages checked";
    pub const BY_OPERATOR: &str = "Theo nhà mạng / By operator";
    pub const BY_CHANNEL: &str = "Theo kênh / By channel";
    pub const CALLS: &str = "Cuộc gọi / Calls";
    pub const CALLS_BY_CATEGORY: &str = "Số bị nghi ngờ theo loại / Suspected numbers by category";
    pub const TOP: &str = "Nguồn phát tán nhiều nhất / Top sources";
    pub const TOP_SENDERS: &str = "Số gửi bị chặn nhiều nhất / Senders most blocked";
    pub const TOP_DOMAINS: &str = "Tên miền bị chặn nhiều nhất / Domains most blocked";
    pub const REPORTS: &str = "Phản ánh đã nhận / Reports received";
    pub const TOP_REPORTED: &str = "Nguồn bị phản ánh nhiều nhất / Sources most reported";
    pub const DNC: &str = "Danh sách không quảng cáo (DNC) / Do-Not-Call register";
    pub const ADS: &str = "Quảng cáo vi phạm / Advertising violations";
    pub const TREND: &str = "Diễn biến trong kỳ / Trend over the period";
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A table: a header and rows of cells (already text).
struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[&str]) -> Table {
        Table {
            head: head.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn markdown(&self, out: &mut String) {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let _ = writeln!(
            out,
            "| {} |",
            self.head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(out, "|{}", "---|".repeat(self.head.len()));
        for r in &self.rows {
            let _ = writeln!(out, "| {} |", r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
        }
        out.push('\n');
    }

    fn html(&self, out: &mut String) {
        out.push_str("<table><thead><tr>");
        for h in &self.head {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            out.push_str("<tr>");
            for c in r {
                let _ = write!(out, "<td>{}</td>", esc(c));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>\n");
    }
}

fn n(v: u64) -> String {
    v.to_string()
}

fn messages_table(m: &Messages) -> Table {
    let mut t = Table::new(&["Chỉ tiêu / Figure", "Số lượng / Count"]);
    t.row(vec!["Đã kiểm tra / Checked".into(), n(m.checked)]);
    t.row(vec!["Bị chặn / Blocked".into(), n(m.blocked)]);
    for (a, v) in &m.by_action {
        t.row(vec![format!("action {a}"), n(*v)]);
    }
    for (c, v) in &m.by_category {
        t.row(vec![format!("category {c}"), n(*v)]);
    }
    for (c, v) in &m.blocked_by_category {
        t.row(vec![format!("blocked {c}"), n(*v)]);
    }
    t
}

fn slices_table(first: &str, v: &[Slice]) -> Table {
    let mut t = Table::new(&[
        first,
        "Đã kiểm tra / Checked",
        "Bị chặn / Blocked",
        "Chặn: rác / Blocked spam",
        "Chặn: lừa đảo / Blocked scam",
        "Chặn: quảng cáo / Blocked ad",
    ]);
    for s in v {
        let b = |c: &str| n(s.messages.blocked_by_category.get(c).copied().unwrap_or(0));
        t.row(vec![
            s.name.clone(),
            n(s.messages.checked),
            n(s.messages.blocked),
            b("spam"),
            b("scam"),
            b("ad"),
        ]);
    }
    t
}

fn call_table(first: &str, v: &[CallRow], with_checked: bool) -> Table {
    let mut head = vec![first];
    if with_checked {
        head.push("Bản ghi đã kiểm tra / Records checked");
    }
    head.extend(["Số bị nghi ngờ / Numbers suspected", "Số bị chặn / Numbers blocked"]);
    let mut t = Table::new(&head);
    for r in v {
        let mut cells = vec![r.name.clone()];
        if with_checked {
            cells.push(n(r.checked));
        }
        cells.extend([n(r.suspected), n(r.blocked)]);
        t.row(cells);
    }
    t
}

fn ranked_table(first: &str, v: &[Ranked], reported: bool) -> Table {
    let mut head = vec!["#", first, "Số lượng / Count"];
    if reported {
        head.extend(["Người phản ánh / Reporters", "Trạng thái / Status"]);
    }
    let mut t = Table::new(&head);
    for (i, r) in v.iter().enumerate() {
        let mut cells = vec![n(i as u64 + 1), r.value.clone(), n(r.count)];
        if reported {
            cells.push(r.reporters.map(n).unwrap_or_default());
            cells.push(r.status.clone().unwrap_or_default());
        }
        t.row(cells);
    }
    t
}

fn map_table(first: &str, maps: &[(&str, &BTreeMap<String, u64>)]) -> Table {
    let mut t = Table::new(&[first, "Giá trị / Value", "Số lượng / Count"]);
    for (what, m) in maps {
        for (k, v) in *m {
            t.row(vec![what.to_string(), k.clone(), n(*v)]);
        }
    }
    t
}

fn dnc_table(d: &Dnc) -> Table {
    let mut t = Table::new(&["Chỉ tiêu / Figure", "Số lượng / Count"]);
    t.row(vec!["Đăng ký / Registrations".into(), n(d.registrations)]);
    t.row(vec!["Hủy đăng ký / Cancellations".into(), n(d.cancellations)]);
    t.row(vec![
        "Yêu cầu không thay đổi / Requests changing nothing".into(),
        n(d.unchanged),
    ]);
    for (via, v) in &d.by_via {
        t.row(vec![format!("via {via}"), n(*v)]);
    }
    t
}

fn ads_table(a: &Ads) -> Table {
    let mut t = Table::new(&[
        "Nhà quảng cáo / Advertiser",
        "Vi phạm / Violations",
        "Bị chặn / Blocked",
        "Theo lỗi / By signal",
    ]);
    for r in &a.by_advertiser {
        let signals: Vec<String> = r.by_signal.iter().map(|(s, v)| format!("{s} {v}")).collect();
        t.row(vec![
            r.advertiser.clone(),
            n(r.violations),
            n(r.blocked),
            signals.join(", "),
        ]);
    }
    t
}

fn trend_table(f: &Figures) -> Table {
    let mut t = Table::new(&[
        "Từ ngày / From",
        "Tin nhắn / Messages",
        "Bị chặn / Blocked",
        "Cuộc gọi / Call records",
        "Phản ánh / Reports",
    ]);
    for r in &f.trend {
        t.row(vec![
            r.start.clone(),
            n(r.messages),
            n(r.blocked),
            n(r.calls),
            n(r.reports),
        ]);
    }
    t
}

/// A section of the report: its heading, a lead line (may be empty), its tables with their
/// optional subheadings.
type Section = (&'static str, String, Vec<(Option<&'static str>, Table)>);

/// The report's sections in order.
fn sections(f: &Figures) -> Vec<Section> {
    let calls_lead = format!(
        "{} bản ghi cuộc gọi / call records; {} số bị nghi ngờ / numbers suspected; {} số bị chặn / numbers blocked",
        f.calls.checked, f.calls.suspected, f.calls.blocked
    );
    let reports_lead = format!("{} phản ánh / reports", f.reports.received);
    let ads_lead = format!(
        "{} bản sao quảng cáo / ad copies received; {} vi phạm / violations",
        f.ads.copies, f.ads.violations
    );
    vec![
        (
            text::MESSAGES,
            String::new(),
            vec![
                (None, messages_table(&f.messages)),
                (
                    Some(text::BY_OPERATOR),
                    slices_table("Nhà mạng / Operator", &f.by_operator),
                ),
                (Some(text::BY_CHANNEL), slices_table("Kênh / Channel", &f.by_channel)),
            ],
        ),
        (
            text::CALLS,
            calls_lead,
            vec![
                (
                    Some(text::BY_OPERATOR),
                    call_table("Nhà mạng / Operator", &f.calls.by_operator, true),
                ),
                (
                    Some(text::CALLS_BY_CATEGORY),
                    call_table("Loại / Category", &f.calls.by_category, false),
                ),
            ],
        ),
        (
            text::TOP,
            String::new(),
            vec![
                (
                    Some(text::TOP_SENDERS),
                    ranked_table("Số gửi / Sender", &f.top_senders, false),
                ),
                (
                    Some(text::TOP_DOMAINS),
                    ranked_table("Tên miền / Domain", &f.top_domains, false),
                ),
            ],
        ),
        (
            text::REPORTS,
            reports_lead,
            vec![
                (
                    None,
                    map_table(
                        "Theo / By",
                        &[
                            ("status", &f.reports.by_status),
                            ("kind", &f.reports.by_kind),
                            ("via", &f.reports.by_via),
                        ],
                    ),
                ),
                (
                    Some(text::TOP_REPORTED),
                    ranked_table("Nguồn / Source", &f.reports.top_sources, true),
                ),
            ],
        ),
        (text::DNC, String::new(), vec![(None, dnc_table(&f.dnc))]),
        (text::ADS, ads_lead, vec![(None, ads_table(&f.ads))]),
        (text::TREND, String::new(), vec![(None, trend_table(f))]),
    ]
}

fn period_line(f: &Figures) -> String {
    let mut s = format!(
        "{}: {} ({} – {}, {} ngày / days)",
        text::PERIOD,
        f.period,
        f.from,
        f.to,
        f.days
    );
    if let Some(g) = &f.generated_at {
        let _ = write!(s, "; lập lúc / generated {g}");
    }
    s
}

fn markdown(f: &Figures) -> String {
    let mut out = format!("# {}\n\n{}\n\n", text::TITLE, period_line(f));
    for (heading, lead, tables) in sections(f) {
        let _ = writeln!(out, "## {heading}\n");
        if !lead.is_empty() {
            let _ = writeln!(out, "{lead}\n");
        }
        for (sub, t) in tables {
            if let Some(s) = sub {
                let _ = writeln!(out, "### {s}\n");
            }
            t.markdown(&mut out);
        }
    }
    out
}

/// Chart colours: one per series.
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/// A chart of bars per step, one colour per series, with a legend. Pure SVG, no script.
fn bar_chart(title: &str, labels: &[String], series: &[(&str, Vec<u64>)]) -> String {
    let (w, h, left, bottom, top) = (760.0_f64, 260.0_f64, 56.0_f64, 40.0_f64, 28.0_f64);
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - top;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let groups = labels.len().max(1) as f64;
    let group_w = plot_w / groups;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).max(0.5);
    let mut s = format!(
        "<figure><figcaption>{t}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">\
         <title>{t}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>",
        t = esc(title)
    );
    // Axis and the largest value.
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{y0}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#333\"/>\
         <text x=\"{tx}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"end\">{max}</text>\
         <text x=\"{tx}\" y=\"{y0}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        y0 = top + plot_h,
        x1 = left + plot_w,
        tx = left - 4.0,
        ty = top + 10.0,
        max = max as u64
    );
    for (si, (name, values)) in series.iter().enumerate() {
        let colour = COLOURS[si % COLOURS.len()];
        for (i, &v) in values.iter().enumerate() {
            let bh = v as f64 / max * plot_h;
            let x = left + i as f64 * group_w + group_w * 0.1 + si as f64 * bar_w;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{bh:.1}\" fill=\"{colour}\"><title>{} {}: {v}</title></rect>",
                esc(name),
                esc(labels.get(i).map_or("", String::as_str)),
                y = top + plot_h - bh,
            );
        }
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{tx}\" y=\"15\" font-size=\"11\">{}</text>",
            esc(name),
            lx = left + si as f64 * 170.0,
            tx = left + si as f64 * 170.0 + 14.0,
        );
    }
    // At most about twelve labels under the axis.
    let every = labels.len().div_ceil(12).max(1);
    for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"{y}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            esc(l),
            x = left + (i as f64 + 0.5) * group_w,
            y = top + plot_h + 16.0,
        );
    }
    s.push_str("</svg></figure>");
    s
}

/// A horizontal bar per item.
fn hbar_chart(title: &str, items: &[(String, u64)]) -> String {
    let (w, row, left) = (760.0_f64, 22.0_f64, 200.0_f64);
    let h = row * items.len().max(1) as f64 + 10.0;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        "<figure><figcaption>{t}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">\
         <title>{t}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>",
        t = esc(title)
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let y = 5.0 + i as f64 * row;
        let bw = *v as f64 / max * (w - left - 80.0);
        let _ = write!(
            s,
            "<text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{c}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty:.1}\" font-size=\"11\">{v}</text>",
            esc(name),
            tx = left - 6.0,
            ty = y + row * 0.6,
            bh = row * 0.7,
            c = COLOURS[i % COLOURS.len()],
            vx = left + bw + 4.0,
        );
    }
    s.push_str("</svg></figure>");
    s
}

fn html(f: &Figures) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{title} {period}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}\
         td,th{{border:1px solid #bbb;padding:.2em .6em;text-align:left}}td:not(:first-child){{text-align:right}}\
         svg{{max-width:100%;height:auto;display:block;margin:.2em 0}}figure{{margin:1em 0}}figcaption{{font-weight:bold;font-size:.9em}}</style></head><body>\n\
         <h1>{title}</h1>\n<p>{line}</p>\n",
        title = esc(text::TITLE),
        period = esc(&f.period),
        line = esc(&period_line(f)),
    );
    let labels: Vec<String> = f.trend.iter().map(|r| r.start.clone()).collect();
    for (heading, lead, tables) in sections(f) {
        let _ = writeln!(out, "<h2>{}</h2>", esc(heading));
        if !lead.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", esc(&lead));
        }
        // The charts go with their sections.
        match heading {
            text::MESSAGES => {
                let cats: Vec<(String, u64)> = f
                    .messages
                    .blocked_by_category
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                out.push_str(&hbar_chart("Bị chặn theo loại / Blocked by category", &cats));
                let ops: Vec<(String, u64)> = f
                    .by_operator
                    .iter()
                    .map(|s| (s.name.clone(), s.messages.blocked))
                    .collect();
                out.push_str(&hbar_chart("Bị chặn theo nhà mạng / Blocked by operator", &ops));
            }
            text::CALLS => {
                let cats: Vec<(String, u64)> = f
                    .calls
                    .by_category
                    .iter()
                    .map(|r| (r.name.clone(), r.suspected))
                    .collect();
                out.push_str(&hbar_chart("Số bị nghi ngờ theo loại / Suspected by category", &cats));
            }
            text::REPORTS => {
                let st: Vec<(String, u64)> = f.reports.by_status.iter().map(|(k, v)| (k.clone(), *v)).collect();
                out.push_str(&hbar_chart("Phản ánh theo trạng thái / Reports by status", &st));
            }
            text::TREND => {
                let col = |g: fn(&TrendRow) -> u64| f.trend.iter().map(g).collect::<Vec<u64>>();
                out.push_str(&bar_chart(
                    "Tin nhắn theo thời gian / Messages over time",
                    &labels,
                    &[
                        ("Tin nhắn / Messages", col(|r| r.messages)),
                        ("Bị chặn / Blocked", col(|r| r.blocked)),
                    ],
                ));
                out.push_str(&bar_chart(
                    "Cuộc gọi và phản ánh / Call records and reports",
                    &labels,
                    &[
                        ("Cuộc gọi / Call records", col(|r| r.calls)),
                        ("Phản ánh / Reports", col(|r| r.reports)),
                    ],
                ));
            }
            _ => {}
        }
        for (sub, t) in tables {
            if let Some(s) = sub {
                let _ = writeln!(out, "<h3>{}</h3>", esc(s));
            }
            t.html(&mut out);
        }
    }
    out.push_str("</body></html>\n");
    out
}

fn csv_lines(f: &Figures) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut put = |section: &str, key: &str, item: &str, value: String| {
        let _ = w.write_record([section, key, item, &value]);
    };
    put("section", "key", "item", "value".into());
    put("period", &f.period, "from", f.from.clone());
    put("period", &f.period, "to", f.to.clone());
    put("period", &f.period, "days", f.days.to_string());
    let mut messages = |section: &str, key: &str, m: &Messages| {
        put(section, key, "checked", n(m.checked));
        put(section, key, "blocked", n(m.blocked));
        for (a, v) in &m.by_action {
            put(section, key, &format!("action:{a}"), n(*v));
        }
        for (c, v) in &m.by_category {
            put(section, key, &format!("category:{c}"), n(*v));
        }
        for (c, v) in &m.blocked_by_category {
            put(section, key, &format!("blocked:{c}"), n(*v));
        }
    };
    messages("messages", "all", &f.messages);
    for s in &f.by_operator {
        messages("operator", &s.name, &s.messages);
    }
    for s in &f.by_channel {
        messages("channel", &s.name, &s.messages);
    }
    let mut put = |section: &str, key: &str, item: &str, value: String| {
        let _ = w.write_record([section, key, item, &value]);
    };
    put("calls", "all", "checked", n(f.calls.checked));
    put("calls", "all", "suspected", n(f.calls.suspected));
    put("calls", "all", "blocked", n(f.calls.blocked));
    for r in &f.calls.by_operator {
        put("calls_operator", &r.name, "checked", n(r.checked));
        put("calls_operator", &r.name, "suspected", n(r.suspected));
        put("calls_operator", &r.name, "blocked", n(r.blocked));
    }
    for r in &f.calls.by_category {
        put("calls_category", &r.name, "suspected", n(r.suspected));
        put("calls_category", &r.name, "blocked", n(r.blocked));
    }
    for r in &f.top_senders {
        put("top_sender", &r.value, "blocked", n(r.count));
    }
    for r in &f.top_domains {
        put("top_domain", &r.value, "blocked", n(r.count));
    }
    put("reports", "all", "received", n(f.reports.received));
    for (what, m) in [
        ("status", &f.reports.by_status),
        ("kind", &f.reports.by_kind),
        ("via", &f.reports.by_via),
    ] {
        for (k, v) in m {
            put("reports", &format!("{what}:{k}"), "count", n(*v));
        }
    }
    for r in &f.reports.top_sources {
        put("reported_source", &r.value, "reports", n(r.count));
        put(
            "reported_source",
            &r.value,
            "reporters",
            r.reporters.map(n).unwrap_or_default(),
        );
        put(
            "reported_source",
            &r.value,
            "status",
            r.status.clone().unwrap_or_default(),
        );
    }
    put("dnc", "all", "registrations", n(f.dnc.registrations));
    put("dnc", "all", "cancellations", n(f.dnc.cancellations));
    put("dnc", "all", "unchanged", n(f.dnc.unchanged));
    for (via, v) in &f.dnc.by_via {
        put("dnc", &format!("via:{via}"), "requests", n(*v));
    }
    put("ads", "all", "copies", n(f.ads.copies));
    put("ads", "all", "violations", n(f.ads.violations));
    for a in &f.ads.by_advertiser {
        put("ad_advertiser", &a.advertiser, "violations", n(a.violations));
        put("ad_advertiser", &a.advertiser, "blocked", n(a.blocked));
        for (s, v) in &a.by_signal {
            put("ad_advertiser", &a.advertiser, s, n(*v));
        }
    }
    for r in &f.trend {
        put("trend", &r.start, "messages", n(r.messages));
        put("trend", &r.start, "blocked", n(r.blocked));
        put("trend", &r.start, "calls", n(r.calls));
        put("trend", &r.start, "reports", n(r.reports));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_whole_days_in_vietnam_time() {
        let q3 = Period::preset("2026q3").unwrap();
        // 2026-07-01T00:00+07:00 = 2026-06-30T17:00Z.
        assert_eq!(q3.from, 1_782_838_800);
        assert_eq!(vn_rfc3339(q3.from), "2026-07-01T00:00:00+07:00");
        assert_eq!(vn_rfc3339(q3.to), "2026-10-01T00:00:00+07:00");
        assert_eq!(q3.days(), 92);
        let dates = Period::dates("2026-07-01", "2026-09-30").unwrap();
        assert_eq!(
            (dates.from, dates.to, dates.name.as_str()),
            (q3.from, q3.to, "2026-07-01..2026-09-30")
        );
        let h2 = Period::preset("2026H2").unwrap();
        assert_eq!(
            (h2.from, vn_rfc3339(h2.to).as_str()),
            (q3.from, "2027-01-01T00:00:00+07:00")
        );
        assert_eq!(Period::preset("2026Q4").unwrap().to, h2.to);
        assert_eq!(Period::preset("2026H1").unwrap().days(), 181);
        let one = Period::dates("2026-02-28", "2026-02-28").unwrap();
        assert_eq!(one.days(), 1);
        assert_eq!(vn_date(one.from), "2026-02-28");
        assert_eq!(vn_date(one.to - 1), "2026-02-28");
    }

    #[test]
    fn bad_periods_and_formats_say_why() {
        let cases: &[(&str, &str, &str)] = &[
            ("2026-09-30", "2026-07-01", "runs backwards"),
            ("2026-13-01", "2026-12-31", "from \"2026-13-01\" is not a date"),
            ("2026-07-01", "yesterday", "to \"yesterday\" is not a date"),
            ("2026-02-30", "2026-03-01", "is not a date"),
            ("", "2026-03-01", "is not a date"),
            ("2000-01-01", "2026-01-01", "at most 3660 days"),
        ];
        for (from, to, want) in cases {
            let e = Period::dates(from, to).unwrap_err().to_string();
            assert!(e.contains(want), "{from}..{to}: {e}");
        }
        for p in ["2026Q5", "2026H3", "26Q3", "2026", "Q3", "2026Q3x", "ẞẞẞẞQ3", "202éQ"] {
            assert_eq!(Period::preset(p), Err(ReportError::BadPreset(p.to_string())), "{p}");
        }
        assert!(
            Format::parse("pdf")
                .unwrap_err()
                .to_string()
                .contains("md, html, csv or json")
        );
        assert_eq!(Format::parse("MD"), Ok(Format::Md));
        assert!(Step::parse("month").is_err());
    }

    fn sample() -> Figures {
        let p = Period::dates("2026-07-01", "2026-07-10").unwrap();
        let mut b = Builder::new(p.clone(), Some(p.to));
        assert_eq!(b.step(), Step::Day);
        b.message(p.from, "block", "scam", 5);
        b.message(p.from + 3 * DAY + 60, "allow", "ham", 20);
        b.message(p.from + 3 * DAY + 120, "tag", "spam", 2);
        b.message(p.from - 60, "block", "scam", 1000); // before the period: ignored
        b.message(p.to, "block", "scam", 1000); // at its end: ignored
        b.dim("operator", p.from, "viettel", "block", "scam", 5);
        b.dim("operator", p.from + 3 * DAY, "", "allow", "ham", 20);
        b.dim("operator", p.from + 3 * DAY, "mobifone", "tag", "spam", 2);
        b.dim("channel", p.from, "sms", "block", "scam", 27);
        b.dim("calls", p.from, "viettel", "checked", "", 100);
        b.dim("calls", p.from + DAY, "viettel", "suspected", "robocall", 2);
        b.dim("calls", p.from + DAY, "viettel", "blocked", "robocall", 1);
        b.dim("calls", p.from + DAY, "mobifone", "checked", "", 50);
        b.dim("ad", p.from, "QC-0001", "block", "AD_TO_DNC", 3);
        b.dim("ad", p.from, "QC-0001", "tag", "AD_OUTSIDE_HOURS", 1);
        b.dim("ad", p.from, "+84912000000", "tag", "AD_UNREGISTERED_SENDER", 1);
        b.top(vec![("+84912345678".into(), 5)], vec![("vtb-qua.xyz".into(), 4)]);
        b.reports("spam", "sms", "open", 3);
        b.reports("spam", "sms", "confirmed", 4);
        b.reports("call", "api", "open", 1);
        b.reports_at(p.from + 9 * DAY, 8);
        b.reported_source("+84912345678", 7, 6, "confirmed");
        b.dnc("register", "sms", 3, 2);
        b.dnc("cancel", "api", 1, 1);
        b.ad_copies(2);
        b.finish()
    }

    #[test]
    fn the_figures_add_up() {
        let f = sample();
        assert_eq!((f.messages.checked, f.messages.blocked), (27, 5));
        assert_eq!(f.messages.by_action["tag"], 2);
        assert_eq!(f.messages.blocked_by_category["scam"], 5);
        let ops: Vec<(&str, u64, u64)> = f
            .by_operator
            .iter()
            .map(|s| (s.name.as_str(), s.messages.checked, s.messages.blocked))
            .collect();
        assert_eq!(ops, [("unknown", 20, 0), ("viettel", 5, 5), ("mobifone", 2, 0)]);
        assert_eq!((f.calls.checked, f.calls.suspected, f.calls.blocked), (150, 2, 1));
        assert_eq!(f.calls.by_category.len(), 1, "only categories with suspects");
        assert_eq!(f.calls.by_category[0].name, "robocall");
        assert_eq!(f.reports.received, 8);
        assert_eq!(f.reports.by_status["confirmed"], 4);
        assert_eq!((f.dnc.registrations, f.dnc.cancellations, f.dnc.unchanged), (2, 1, 1));
        assert_eq!((f.ads.copies, f.ads.violations), (2, 5));
        assert_eq!(f.ads.by_advertiser[0].advertiser, "QC-0001");
        assert_eq!(
            (f.ads.by_advertiser[0].violations, f.ads.by_advertiser[0].blocked),
            (4, 3)
        );
        assert_eq!(f.trend.len(), 10);
        assert_eq!(f.trend[0].start, "2026-07-01");
        assert_eq!((f.trend[0].messages, f.trend[0].blocked, f.trend[0].calls), (5, 5, 100));
        assert_eq!((f.trend[3].messages, f.trend[1].calls, f.trend[9].reports), (22, 50, 8));
        assert_eq!(f.trend.iter().map(|t| t.messages).sum::<u64>(), f.messages.checked);
    }

    #[test]
    fn long_periods_trend_by_week() {
        let p = Period::preset("2026Q3").unwrap();
        let mut b = Builder::new(p.clone(), None);
        assert_eq!(b.step(), Step::Week);
        b.message(p.to - 60, "allow", "ham", 1);
        let f = b.finish();
        // 92 days: 13 full weeks and one day.
        assert_eq!(f.trend.len(), 14);
        assert_eq!(f.trend[13].messages, 1);
        assert_eq!(f.trend[13].start, "2026-09-30");
    }

    #[test]
    fn every_format_carries_the_figures() {
        let f = sample();
        let md = render(&f, Format::Md);
        assert!(md.starts_with("# Báo cáo"));
        assert!(md.contains("| viettel | 5 | 5 | 0 | 5 | 0 |"), "{md}");
        assert!(
            md.contains("| QC-0001 | 4 | 3 | AD_OUTSIDE_HOURS 1, AD_TO_DNC 3 |"),
            "{md}"
        );
        assert!(md.contains("| 1 | +84912345678 | 7 | 6 | confirmed |"), "{md}");
        let html = render(&f, Format::Html);
        assert_eq!(
            html.matches("<svg").count(),
            6,
            "category, operator, calls, reports, two trends"
        );
        assert!(!html.contains("<script"));
        assert!(html.contains("<td>vtb-qua.xyz</td>"));
        let csv = render(&f, Format::Csv);
        assert!(csv.starts_with("section,key,item,value\n"));
        assert!(csv.contains("operator,viettel,blocked,5\n"), "{csv}");
        assert!(csv.contains("calls,all,checked,150\n"));
        assert!(csv.contains("trend,2026-07-04,messages,22\n"));
        let json: serde_json::Value = serde_json::from_str(&render(&f, Format::Json)).unwrap();
        assert_eq!(json["messages"]["checked"], 27);
        assert_eq!(json["from"], "2026-07-01T00:00:00+07:00");
        assert_eq!(json["calls"]["by_operator"][0]["name"], "mobifone");
    }

    #[test]
    fn text_from_messages_is_escaped_in_html() {
        let p = Period::dates("2026-07-01", "2026-07-01").unwrap();
        let mut b = Builder::new(p, None);
        b.top(vec![("<script>alert(1)</script>".into(), 1)], vec![]);
        b.dim("ad", 1_782_838_800, "A&B \"x\"", "tag", "AD_NO_LABEL", 1);
        let html = render(&b.finish(), Format::Html);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("A&amp;B &quot;x&quot;"));
    }
}
