//! [`HubRecords`] on the embedded SQLite store.

use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

use super::{
    AdCopy, Advertiser, Brandname, Cols, DncEvent, HubRecords, NewAdCopy, NewReport, OtpOutcome, REGISTER_STATUSES,
    Report, ReportAdded, ReportLimits, ReportParam, ReportQuery, SourceRecord, advertiser_from, brandname_from,
    check_one_of, check_report, copy_from, dnc_after, dnc_from, report_filter, report_from, source_from, source_target,
    sql,
};
use super::{HubActivity, dnc_count_from, report_count_from, reported_from, series_from};
use crate::StoreError;
use crate::records::Actor;
use crate::records::now_ms;
use crate::records::sqlite::SqliteRecords;

impl Cols for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(i)?)
    }
}

/// The shared SQL with SQLite's numbered parameters (`?1` for `$1`).
fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn all<T>(
    c: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut st = c.prepare_cached(&lite(sql))?;
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

fn audit(tx: &Transaction<'_>, actor: &Actor<'_>, action: &str, target: &str) -> Result<(), StoreError> {
    tx.execute(
        &lite(sql::INSERT_AUDIT),
        params![now_ms(), actor.name, action, target, actor.reason],
    )?;
    Ok(())
}

fn dnc_apply(
    tx: &Transaction<'_>,
    number: &str,
    register: bool,
    scope: u8,
    via: &str,
    actor: &str,
    at: i64,
) -> Result<DncEvent, StoreError> {
    let before: i64 = tx
        .query_row(&lite(sql::DNC_FLAGS), [number], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let before = before as u8;
    let after = dnc_after(before, register, scope);
    if after != before {
        if after == 0 {
            tx.execute(&lite(sql::DNC_DELETE), [number])?;
        } else {
            tx.execute(&lite(sql::DNC_UPSERT), params![number, after as i64, at])?;
        }
    }
    let action = if register { "register" } else { "cancel" };
    let id: i64 = tx.query_row(
        &lite(sql::DNC_HISTORY_INSERT),
        params![
            at,
            number,
            action,
            scope as i64,
            before as i64,
            after as i64,
            via,
            actor
        ],
        |r| r.get(0),
    )?;
    Ok(DncEvent {
        id,
        at,
        number: number.to_string(),
        action: action.to_string(),
        scope,
        before,
        after,
        via: via.to_string(),
        actor: actor.to_string(),
    })
}

impl HubRecords for SqliteRecords {
    async fn add_report(&self, report: &NewReport, limits: ReportLimits) -> Result<ReportAdded, StoreError> {
        check_report(report)?;
        let r = report.clone();
        self.with(move |c| {
            let tx = c.transaction()?;
            let used: i64 = tx.query_row(
                &lite(sql::REPORTER_COUNT),
                params![r.reporter, limits.reporter_since],
                |x| x.get(0),
            )?;
            let counted = used < limits.reporter_max as i64;
            let id: i64 = tx.query_row(
                &lite(sql::INSERT_REPORT),
                params![
                    r.at,
                    r.via,
                    r.reporter,
                    r.kind,
                    r.source,
                    r.source_key,
                    r.content,
                    r.content_key,
                    r.raw,
                    counted as i64
                ],
                |x| x.get(0),
            )?;
            let source = match &r.source_key {
                Some(key) => {
                    let n: i64 =
                        tx.query_row(&lite(sql::DISTINCT_BY_SOURCE), params![key, limits.group_since], |x| {
                            x.get(0)
                        })?;
                    let mut st = tx.prepare_cached(&lite(sql::UPSERT_SOURCE))?;
                    let mut rows = st.query(params![key, n, r.at, limits.watch_at as i64, limits.propose_at as i64])?;
                    let row = rows
                        .next()?
                        .ok_or_else(|| StoreError::Corrupt("upsert returned no source".into()))?;
                    Some(source_from(row)?)
                }
                None => None,
            };
            let content_reporters = match &r.content_key {
                Some(key) => tx.query_row(&lite(sql::DISTINCT_BY_CONTENT), params![key, limits.group_since], |x| {
                    x.get::<_, i64>(0)
                })?,
                None => 0,
            };
            tx.commit()?;
            Ok(ReportAdded {
                report: Report {
                    id,
                    at: r.at,
                    via: r.via,
                    reporter: r.reporter,
                    kind: r.kind,
                    source: r.source,
                    source_key: r.source_key,
                    content: r.content,
                    content_key: r.content_key,
                    raw: r.raw,
                    counted,
                    status: "open".into(),
                },
                source,
                content_reporters: content_reporters as u32,
            })
        })
        .await
    }

    async fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        self.with(move |c| {
            let sql = format!("SELECT {} FROM reports WHERE id = $1", sql::REPORT_COLUMNS);
            Ok(all(c, &sql, [id], |r| report_from(r))?.pop())
        })
        .await
    }

    async fn reports(&self, query: &ReportQuery) -> Result<Vec<Report>, StoreError> {
        let (sql, params) = report_filter(query);
        self.with(move |c| {
            let values: Vec<rusqlite::types::Value> = params
                .into_iter()
                .map(|p| match p {
                    ReportParam::Text(s) => rusqlite::types::Value::Text(s),
                    ReportParam::Int(i) => rusqlite::types::Value::Integer(i),
                })
                .collect();
            all(c, &sql, params_from_iter(values), |r| report_from(r))
        })
        .await
    }

    async fn sources(&self, status: Option<&str>, limit: usize) -> Result<Vec<SourceRecord>, StoreError> {
        let status = status.map(str::to_string);
        self.with(move |c| {
            let sql = format!(
                "SELECT {} FROM sources WHERE ($1 IS NULL OR status = $1) ORDER BY reporters DESC, last_at DESC LIMIT $2",
                sql::SOURCE_COLUMNS
            );
            all(c, &sql, params![status, limit.min(10_000) as i64], |r| source_from(r))
        })
        .await
    }

    async fn decide_source(
        &self,
        key: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<Option<SourceRecord>, StoreError> {
        check_one_of("decision", status, &["confirmed", "rejected"])?;
        let (key, status, who, why) = (
            key.to_string(),
            status.to_string(),
            actor.name.to_string(),
            actor.reason.to_string(),
        );
        self.with(move |c| {
            let tx = c.transaction()?;
            let found = {
                let mut st = tx.prepare_cached(&lite(sql::DECIDE_SOURCE))?;
                let mut rows = st.query(params![key, status, who, why])?;
                match rows.next()? {
                    Some(r) => Some(source_from(r)?),
                    None => None,
                }
            };
            if found.is_some() {
                tx.execute(&lite(sql::DECIDE_REPORTS), params![key, status])?;
                let actor = Actor {
                    name: &who,
                    reason: &why,
                };
                let action = if status == "confirmed" {
                    "hub.confirm"
                } else {
                    "hub.reject"
                };
                audit(&tx, &actor, action, &source_target(&key))?;
            }
            tx.commit()?;
            Ok(found)
        })
        .await
    }

    async fn dnc_change(
        &self,
        number: &str,
        register: bool,
        scope: u8,
        via: &str,
        actor: &str,
        at: i64,
    ) -> Result<DncEvent, StoreError> {
        let (number, via, actor) = (number.to_string(), via.to_string(), actor.to_string());
        self.with(move |c| {
            let tx = c.transaction()?;
            let e = dnc_apply(&tx, &number, register, scope, &via, &actor, at)?;
            tx.commit()?;
            Ok(e)
        })
        .await
    }

    async fn dnc_import(&self, entries: &[(String, u8)], actor: &str, at: i64) -> Result<u64, StoreError> {
        let (entries, actor) = (entries.to_vec(), actor.to_string());
        self.with(move |c| {
            let tx = c.transaction()?;
            let mut changed = 0;
            for (number, flags) in &entries {
                // An import sets the flags: cancel what is not asked, register what is.
                let a = dnc_apply(&tx, number, false, !flags & 3, "import", &actor, at)?;
                let b = dnc_apply(&tx, number, true, *flags, "import", &actor, at)?;
                changed += (a.before != b.after) as u64;
            }
            tx.commit()?;
            Ok(changed)
        })
        .await
    }

    async fn dnc_entries(&self) -> Result<Vec<(String, u8)>, StoreError> {
        self.with(|c| {
            all(c, "SELECT number, flags FROM dnc ORDER BY number", [], |r| {
                Ok((r.text(0)?, r.int(1)? as u8))
            })
        })
        .await
    }

    async fn dnc_history(&self, number: &str) -> Result<Vec<DncEvent>, StoreError> {
        let number = number.to_string();
        self.with(move |c| {
            let sql = format!(
                "SELECT {} FROM dnc_history WHERE number = $1 ORDER BY id",
                sql::DNC_COLUMNS
            );
            all(c, &sql, [number], |r| dnc_from(r))
        })
        .await
    }

    async fn dnc_events_since(&self, after: i64, limit: usize) -> Result<Vec<DncEvent>, StoreError> {
        self.with(move |c| {
            all(c, sql::DNC_SINCE, params![after, limit.min(1_000_000) as i64], |r| {
                dnc_from(r)
            })
        })
        .await
    }

    async fn dnc_last_event_id(&self) -> Result<i64, StoreError> {
        self.with(|c| Ok(c.query_row(sql::DNC_LAST_ID, [], |r| r.get(0))?))
            .await
    }

    async fn otp_create(
        &self,
        number: &str,
        register: bool,
        scope: u8,
        code_hash: &str,
        expires_at: i64,
    ) -> Result<i64, StoreError> {
        let (number, hash) = (number.to_string(), code_hash.to_string());
        self.with(move |c| {
            Ok(c.query_row(
                &lite(sql::OTP_INSERT),
                params![number, register as i64, scope as i64, hash, expires_at],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn otp_confirm(
        &self,
        id: i64,
        code_hash: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<OtpOutcome, StoreError> {
        let hash = code_hash.to_string();
        self.with(move |c| {
            let tx = c.transaction()?;
            let row = tx
                .query_row(&lite(sql::OTP_GET), [id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                })
                .optional()?;
            let Some((number, register, scope, want, expires, attempts, done)) = row else {
                return Ok(OtpOutcome::Void);
            };
            if done != 0 || now >= expires || attempts >= max_attempts as i64 {
                return Ok(OtpOutcome::Void);
            }
            let right = want == hash;
            tx.execute(&lite(sql::OTP_TRY), params![id, right as i64])?;
            let out = if right {
                OtpOutcome::Confirmed {
                    event: dnc_apply(&tx, &number, register != 0, scope as u8, "api", &number, now)?,
                }
            } else {
                OtpOutcome::Wrong {
                    left: (max_attempts as i64 - attempts - 1).max(0) as u32,
                }
            };
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn put_advertiser(
        &self,
        code: &str,
        name: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<(Advertiser, bool), StoreError> {
        check_one_of("advertiser status", status, REGISTER_STATUSES)?;
        let (code, name, status, who, why) = (
            code.trim().to_string(),
            name.trim().to_string(),
            status.to_string(),
            actor.name.to_string(),
            actor.reason.to_string(),
        );
        if code.is_empty() || name.is_empty() {
            return Err(StoreError::Invalid("an advertiser needs a code and a name".into()));
        }
        self.with(move |c| {
            let tx = c.transaction()?;
            let existed: i64 = tx.query_row(&lite(sql::ADVERTISER_EXISTS), [&code], |r| r.get(0))?;
            let a = {
                let mut st = tx.prepare_cached(&lite(sql::ADVERTISER_UPSERT))?;
                let mut rows = st.query(params![code, name, status, now_ms()])?;
                let row = rows
                    .next()?
                    .ok_or_else(|| StoreError::Corrupt("upsert returned nothing".into()))?;
                advertiser_from(row)?
            };
            let actor = Actor {
                name: &who,
                reason: &why,
            };
            audit(&tx, &actor, "advertiser.put", &format!("advertiser/{code}/{status}"))?;
            tx.commit()?;
            Ok((a, existed == 0))
        })
        .await
    }

    async fn advertisers(&self) -> Result<Vec<Advertiser>, StoreError> {
        self.with(|c| {
            let sql = format!("SELECT {} FROM advertisers ORDER BY code", sql::ADVERTISER_COLUMNS);
            all(c, &sql, [], |r| advertiser_from(r))
        })
        .await
    }

    async fn put_brandname(
        &self,
        name: &str,
        advertiser: &str,
        operators: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<(Brandname, bool), StoreError> {
        check_one_of("brandname status", status, REGISTER_STATUSES)?;
        let (name, adv, ops, status, who, why) = (
            name.to_string(),
            advertiser.to_string(),
            operators.to_string(),
            status.to_string(),
            actor.name.to_string(),
            actor.reason.to_string(),
        );
        self.with(move |c| {
            let tx = c.transaction()?;
            let known: i64 = tx.query_row(&lite(sql::ADVERTISER_EXISTS), [&adv], |r| r.get(0))?;
            if known == 0 {
                return Err(StoreError::Invalid(format!("no advertiser {adv:?}")));
            }
            let existed: i64 = tx.query_row(&lite(sql::BRANDNAME_EXISTS), [&name], |r| r.get(0))?;
            let b = {
                let mut st = tx.prepare_cached(&lite(sql::BRANDNAME_UPSERT))?;
                let mut rows = st.query(params![name, adv, ops, status, now_ms()])?;
                let row = rows
                    .next()?
                    .ok_or_else(|| StoreError::Corrupt("upsert returned nothing".into()))?;
                brandname_from(row)?
            };
            let actor = Actor {
                name: &who,
                reason: &why,
            };
            audit(
                &tx,
                &actor,
                "brandname.put",
                &format!("brandname/{name}/{adv}/{status}"),
            )?;
            tx.commit()?;
            Ok((b, existed == 0))
        })
        .await
    }

    async fn brandnames(&self) -> Result<Vec<Brandname>, StoreError> {
        self.with(|c| {
            let sql = format!("SELECT {} FROM brandnames ORDER BY name", sql::BRANDNAME_COLUMNS);
            all(c, &sql, [], |r| brandname_from(r))
        })
        .await
    }

    async fn add_ad_copy(&self, copy: &NewAdCopy) -> Result<AdCopy, StoreError> {
        let c0 = copy.clone();
        self.with(move |c| {
            let (from, to) = (c0.window.map(|w| w.0), c0.window.map(|w| w.1));
            let id: i64 = c.query_row(
                &lite(sql::COPY_INSERT),
                params![c0.at, c0.via, c0.sender, c0.brandname, c0.text, from, to, c0.recipients],
                |r| r.get(0),
            )?;
            Ok(AdCopy {
                id,
                at: c0.at,
                via: c0.via,
                sender: c0.sender,
                brandname: c0.brandname,
                text: c0.text,
                window_from: from,
                window_to: to,
                recipients: c0.recipients,
            })
        })
        .await
    }

    async fn ad_copies(&self, since: i64, limit: usize) -> Result<Vec<AdCopy>, StoreError> {
        self.with(move |c| {
            let sql = format!(
                "SELECT {} FROM ad_copies WHERE at >= $1 ORDER BY id LIMIT $2",
                sql::COPY_COLUMNS
            );
            all(c, &sql, params![since, limit.min(1_000_000) as i64], |r| copy_from(r))
        })
        .await
    }

    async fn activity(&self, from: i64, to: i64, size: i64, top: usize) -> Result<HubActivity, StoreError> {
        crate::records::check_size(size)?;
        self.with(move |c| {
            Ok(HubActivity {
                reports: all(c, sql::REPORT_COUNTS, params![from, to], |r| report_count_from(r))?,
                report_series: all(c, sql::REPORT_SERIES, params![from, to, size], |r| series_from(r))?,
                top_sources: all(c, sql::TOP_REPORTED, params![from, to, top as i64], |r| {
                    reported_from(r)
                })?,
                dnc: all(c, sql::DNC_COUNTS, params![from, to], |r| dnc_count_from(r))?,
                ad_copies: c
                    .query_row(&lite(sql::COPY_COUNT), params![from, to], |r| r.get::<_, i64>(0))?
                    .max(0) as u64,
            })
        })
        .await
    }
}
