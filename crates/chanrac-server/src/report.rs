//! The ministry's report over a period (docs/report.md): read from the store, summed by
//! `chanrac_hub::ministry`, served as `GET /v1/report` (role regulator) and written by
//! `chanrac report`. Both read the same rows as `GET /v1/stats` (the per-minute counts and
//! the top senders and domains), so that their totals agree, plus the counts by operator,
//! channel, call and advertiser and the hub's own records.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chanrac_hub::ministry::{self, Builder, Figures, Format, Period, ReportError, Step};
use chanrac_store::StoreError;
use chanrac_store::hub::HubRecords;
use chanrac_store::records::{AnyRecords, Dimension, Records, TopKind};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::Metrics;
use crate::state::AppState;

/// How many top senders, domains and reported sources a report lists.
pub const TOP: usize = 20;

/// Reads a period's figures from the store.
pub async fn gather(
    records: &AnyRecords,
    period: Period,
    step: Step,
    generated_at: Option<i64>,
) -> Result<Figures, StoreError> {
    let (from, to) = (period.from, period.to);
    let mut b = Builder::with_step(period, step, generated_at);
    for r in records.stats(from, to).await? {
        b.message(r.bucket, r.action.as_str(), r.category.as_str(), r.count);
    }
    for d in Dimension::ALL {
        for r in records.dim_stats(d, from, to, step.seconds()).await? {
            b.dim(d.as_str(), r.bucket, &r.key, &r.action, &r.label, r.count);
        }
    }
    b.top(
        records.top(TopKind::Sender, from, to, TOP).await?,
        records.top(TopKind::Domain, from, to, TOP).await?,
    );
    let a = records
        .activity(from * 1000, to * 1000, step.seconds() * 1000, TOP)
        .await?;
    for r in &a.reports {
        b.reports(&r.kind, &r.via, &r.status, r.count);
    }
    for (at, n) in a.report_series {
        b.reports_at(at.div_euclid(1000), n);
    }
    for s in &a.top_sources {
        b.reported_source(&s.key, s.reports, s.reporters, &s.status);
    }
    for d in &a.dnc {
        b.dnc(&d.action, &d.via, d.requests, d.changed);
    }
    b.ad_copies(a.ad_copies);
    Ok(b.finish())
}

/// The period and form of a report: `from` and `to` (days), or `quarter`, or `half`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The first day (`YYYY-MM-DD`, Vietnam time), with `to`.
    pub from: Option<String>,
    /// The last day, included.
    pub to: Option<String>,
    /// A quarter instead: `2026Q3`.
    pub quarter: Option<String>,
    /// A half year instead: `2026H2`.
    pub half: Option<String>,
    /// `json` (default), `md`, `html` or `csv`.
    pub format: Option<String>,
    /// The trend's step: `day` (default up to 62 days) or `week`.
    pub step: Option<String>,
}

impl ReportQuery {
    /// The period it names, or why not.
    pub fn period(&self) -> Result<Period, String> {
        let e = |e: ReportError| e.to_string();
        match (&self.from, &self.to, &self.quarter, &self.half) {
            (Some(f), Some(t), None, None) => Period::dates(f, t).map_err(e),
            (None, None, Some(q), None) if q.to_ascii_uppercase().contains('Q') => Period::preset(q).map_err(e),
            (None, None, None, Some(h)) if h.to_ascii_uppercase().contains('H') => Period::preset(h).map_err(e),
            (None, None, Some(q), None) => Err(format!("{q:?} is not a quarter: use 2026Q3")),
            (None, None, None, Some(h)) => Err(format!("{h:?} is not a half year: use 2026H2")),
            (Some(_), None, None, None) | (None, Some(_), None, None) => {
                Err("give both from and to (YYYY-MM-DD)".into())
            }
            (None, None, None, None) => Err("give a period: from and to (YYYY-MM-DD), a quarter or a half".into()),
            _ => Err("give one period: from and to, a quarter or a half".into()),
        }
    }

    /// The format (JSON by default).
    pub fn format(&self) -> Result<Format, String> {
        self.format
            .as_deref()
            .map_or(Ok(Format::Json), Format::parse)
            .map_err(|e| e.to_string())
    }

    /// The trend's step (by the period's length by default).
    pub fn step(&self, period: &Period) -> Result<Step, String> {
        self.step
            .as_deref()
            .map_or(Ok(Step::for_period(period)), Step::parse)
            .map_err(|e| e.to_string())
    }
}

/// The ministry's report over a period: messages and calls checked and blocked by
/// category and operator, top sources, reports and how they were handled, DNC requests, ad
/// violations per advertiser, and the trend (docs/report.md).
#[utoipa::path(get, path = "/v1/report", tag = "stats", params(ReportQuery),
    responses(
        (status = 200, description = "The report: JSON, or Markdown, HTML (SVG charts) or CSV text"),
        (status = 400, description = "A bad period, format or step", body = ErrorBody),
        (status = 403, description = "Not a regulator", body = ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Regulator])?;
    let Query(q) = query?;
    let bad = |m: String| ApiError::bad_request("invalid_period", m);
    let period = q.period().map_err(bad)?;
    let format = q.format().map_err(|m| ApiError::bad_request("bad_request", m))?;
    let step = q.step(&period).map_err(|m| ApiError::bad_request("bad_request", m))?;
    state
        .stats
        .flush(&state.records)
        .await
        .inspect_err(|_| Metrics::store_error("add_stats"))?;
    let figures = gather(&state.records, period, step, Some(crate::api::now())).await?;
    Ok((
        [(header::CONTENT_TYPE, format.content_type())],
        ministry::render(&figures, format),
    )
        .into_response())
}
