//! [`HubRecords`] on the embedded SQLite store.

use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

use super::{
    AdCopy, Advertiser, Brandname, Cols, DncEvent, Evidence, HubRecords, KeywordDecision, KeywordProposal, NewAdCopy,
    NewOutgoing, NewProposal, NewReport, OtpOutcome, OutboxOutcome, Outgoing, PROPOSAL_STATUSES, ProposalsMerged,
    REGISTER_STATUSES, Report, ReportAdded, ReportLimits, ReportParam, ReportQuery, SourceRecord, advertiser_from,
    band_columns, brandname_from, check_one_of, check_proposal, check_report, copy_from, dnc_after, dnc_from,
    evidence_from, evidence_stored, examples_json, outbox_outcome, outgoing_from, pack_of, proposal_from,
    proposal_target, proposals_query, report_filter, report_from, source_from, source_target, sql,
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
    fn float(&self, i: usize) -> Result<f64, StoreError> {
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

/// An advertiser a brandname or a number is declared for must exist.
fn advertiser_known(tx: &Transaction<'_>, code: &str) -> Result<(), StoreError> {
    let known: i64 = tx.query_row(&lite(sql::ADVERTISER_EXISTS), [code], |r| r.get(0))?;
    if known == 0 {
        return Err(StoreError::Invalid(format!("no advertiser {code:?}")));
    }
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
            let bands = band_columns(&r.content_bands);
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
                    counted as i64,
                    bands[0],
                    bands[1],
                    bands[2]
                ],
                |x| x.get(0),
            )?;
            let mut evidence = Vec::with_capacity(r.evidence.len());
            for e in &r.evidence {
                let eid: i64 = tx.query_row(
                    &lite(sql::EVIDENCE_INSERT),
                    params![id, e.name, e.content_type, e.data.len() as i64, e.sha256, e.data],
                    |x| x.get(0),
                )?;
                evidence.push(evidence_stored(eid, id, e));
            }
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
                Some(key) => tx.query_row(
                    &lite(sql::DISTINCT_BY_CONTENT),
                    params![key, limits.group_since, bands[0], bands[1], bands[2]],
                    |x| x.get::<_, i64>(0),
                )?,
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
                    content_bands: r.content_bands,
                    raw: r.raw,
                    counted,
                    status: "open".into(),
                },
                source,
                evidence,
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
            advertiser_known(&tx, &adv)?;
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

    async fn hub_secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        let (name, fresh) = (name.to_string(), fresh.to_string());
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute(&lite(sql::SECRET_INSERT), params![name, fresh, now_ms()])?;
            let v: String = tx.query_row(&lite(sql::SECRET_GET), [&name], |r| r.get(0))?;
            tx.commit()?;
            Ok(v)
        })
        .await
    }

    async fn outbox_add(&self, m: &NewOutgoing) -> Result<Outgoing, StoreError> {
        let m = m.clone();
        self.with(move |c| {
            let mut st = c.prepare_cached(&lite(sql::OUTBOX_INSERT))?;
            let mut rows = st.query(params![m.at, m.sender, m.recipient, m.text, m.kind, m.expires_at])?;
            let row = rows
                .next()?
                .ok_or_else(|| StoreError::Corrupt("insert returned nothing".into()))?;
            outgoing_from(row)
        })
        .await
    }

    async fn outbox_claim(
        &self,
        by: &str,
        now: i64,
        lease_until: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let by = by.to_string();
        self.with(move |c| {
            let tx = c.transaction()?;
            let ids = all(
                &tx,
                sql::OUTBOX_CLAIMABLE,
                params![now, limit.min(10_000) as i64],
                |r| r.int(0),
            )?;
            let (state, lease) = match lease_until {
                Some(t) => ("claimed", t),
                None => ("taken", 0),
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut st = tx.prepare_cached(&lite(sql::OUTBOX_CLAIM_ONE))?;
                let mut rows = st.query(params![id, state, lease, by, now])?;
                if let Some(r) = rows.next()? {
                    out.push(outgoing_from(r)?);
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn outbox_finish(&self, id: i64, outcome: &OutboxOutcome, now: i64) -> Result<(), StoreError> {
        let outcome = outcome.clone();
        self.with(move |c| {
            let (state, message_id, error) = outbox_outcome(&outcome);
            c.execute(&lite(sql::OUTBOX_FINISH), params![id, state, message_id, error, now])?;
            Ok(())
        })
        .await
    }

    async fn outbox_recent(&self, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        self.with(move |c| {
            let sql = format!("SELECT {} FROM outbox ORDER BY id DESC LIMIT $1", sql::OUTBOX_COLUMNS);
            all(c, &sql, [limit.min(10_000) as i64], |r| outgoing_from(r))
        })
        .await
    }

    async fn ad_register_stamp(&self) -> Result<Vec<i64>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(sql::AD_STAMP, [], |r| {
                (0..7).map(|i| r.get::<_, i64>(i)).collect::<Result<Vec<_>, _>>()
            })?)
        })
        .await
    }

    async fn put_advertiser_number(&self, number: &str, advertiser: &str, actor: Actor<'_>) -> Result<(), StoreError> {
        let (number, adv, who, why) = (
            number.to_string(),
            advertiser.to_string(),
            actor.name.to_string(),
            actor.reason.to_string(),
        );
        self.with(move |c| {
            let tx = c.transaction()?;
            advertiser_known(&tx, &adv)?;
            tx.execute(&lite(sql::NUMBER_UPSERT), params![number, adv, now_ms()])?;
            let actor = Actor {
                name: &who,
                reason: &why,
            };
            audit(
                &tx,
                &actor,
                "advertiser.number",
                &format!("advertiser/{adv}/number/{number}"),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn advertiser_numbers(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| all(c, sql::NUMBERS, [], |r| Ok((r.text(0)?, r.text(1)?))))
            .await
    }

    async fn evidence(&self, report_id: i64) -> Result<Vec<Evidence>, StoreError> {
        self.with(move |c| {
            let sql = format!(
                "SELECT {} FROM report_evidence WHERE report_id = $1 ORDER BY id",
                sql::EVIDENCE_COLUMNS
            );
            all(c, &sql, [report_id], |r| evidence_from(r))
        })
        .await
    }

    async fn evidence_file(&self, report_id: i64, id: i64) -> Result<Option<(Evidence, Vec<u8>)>, StoreError> {
        self.with(move |c| {
            let sql = format!(
                "SELECT {}, data FROM report_evidence WHERE report_id = $1 AND id = $2",
                sql::EVIDENCE_COLUMNS
            );
            Ok(all(c, &sql, [report_id, id], |r| {
                Ok((evidence_from(r)?, r.get::<_, Vec<u8>>(6)?))
            })?
            .pop())
        })
        .await
    }

    async fn propose_keywords(&self, proposals: &[NewProposal], at: i64) -> Result<ProposalsMerged, StoreError> {
        for p in proposals {
            check_proposal(p)?;
        }
        let proposals = proposals.to_vec();
        self.with(move |c| {
            let tx = c.transaction()?;
            let mut merged = ProposalsMerged::default();
            for p in &proposals {
                let values = params![
                    p.phrase,
                    p.label,
                    p.z,
                    p.log_odds,
                    p.unwanted_docs,
                    p.unwanted_total,
                    p.ham_docs,
                    p.ham_total,
                    p.ham_rate_upper,
                    p.adds_docs,
                    examples_json(&p.examples),
                    p.source,
                    at
                ];
                if tx.execute(&lite(sql::PROPOSAL_INSERT), values)? == 1 {
                    merged.added += 1;
                } else if tx.execute(&lite(sql::PROPOSAL_UPDATE), values)? == 1 {
                    merged.updated += 1;
                } else {
                    merged.decided += 1;
                }
            }
            tx.commit()?;
            Ok(merged)
        })
        .await
    }

    async fn keyword_proposals(&self, status: Option<&str>, limit: usize) -> Result<Vec<KeywordProposal>, StoreError> {
        let status = status.map(str::to_string);
        self.with(move |c| match status {
            Some(s) => all(c, &proposals_query(true, limit), [s], |r| proposal_from(r)),
            None => all(c, &proposals_query(false, limit), [], |r| proposal_from(r)),
        })
        .await
    }

    async fn decide_keyword(
        &self,
        id: i64,
        status: &str,
        actor: Actor<'_>,
        weight: f32,
    ) -> Result<Option<KeywordDecision>, StoreError> {
        check_one_of("decision", status, &PROPOSAL_STATUSES[1..])?;
        let (status, who, why) = (status.to_string(), actor.name.to_string(), actor.reason.to_string());
        let changes = self.changes.clone();
        self.with(move |c| {
            let tx = c.transaction()?;
            let one = format!("SELECT {} FROM keyword_proposals WHERE id = $1", sql::PROPOSAL_COLUMNS);
            let Some(before) = all(&tx, &one, [id], |r| proposal_from(r))?.pop() else {
                return Ok(None);
            };
            if before.status == status {
                return Ok(Some(KeywordDecision {
                    proposal: before,
                    pack: None,
                    lists_version: None,
                }));
            }
            let now = now_ms();
            tx.execute(&lite(sql::PROPOSAL_DECIDE), params![id, status, who, now, why])?;
            let action = if status == "approved" {
                "keyword.approve"
            } else {
                "keyword.reject"
            };
            let actor = Actor {
                name: &who,
                reason: &why,
            };
            audit(&tx, &actor, action, &proposal_target(id))?;
            let (mut pack, mut version) = (None, None);
            if before.status == "approved" || status == "approved" {
                let approved = all(&tx, &proposals_query(true, 10_000), ["approved"], |r| proposal_from(r))?;
                let last: i64 = tx.query_row(crate::records::sql::LAST_PACK_VERSION, [], |r| r.get(0))?;
                let p = pack_of(&approved, last, weight, now);
                version = Some(crate::records::sqlite::install_pack(&tx, &p, "local", &who, &why)?);
                pack = Some(p);
            }
            let proposal = all(&tx, &one, [id], |r| proposal_from(r))?
                .pop()
                .ok_or_else(|| StoreError::Corrupt("a proposal vanished inside a transaction".into()))?;
            tx.commit()?;
            if let Some(v) = version {
                changes.send_replace(v);
            }
            Ok(Some(KeywordDecision {
                proposal,
                pack,
                lists_version: version,
            }))
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
