//! [`HubRecords`] on PostgreSQL.

use tokio_postgres::types::ToSql;

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
use crate::records::postgres::PgRecords;
use crate::records::{Actor, now_ms};

fn col<T: for<'a> tokio_postgres::types::FromSql<'a>>(r: &tokio_postgres::Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

impl Cols for tokio_postgres::Row {
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        col(self, i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        col(self, i)
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        col(self, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        col(self, i)
    }
    fn float(&self, i: usize) -> Result<f64, StoreError> {
        col(self, i)
    }
}

fn rows<T>(
    rows: &[tokio_postgres::Row],
    f: fn(&tokio_postgres::Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

async fn audit(
    tx: &deadpool_postgres::Transaction<'_>,
    actor: &Actor<'_>,
    action: &str,
    target: &str,
) -> Result<(), StoreError> {
    tx.execute(
        sql::INSERT_AUDIT,
        &[&now_ms(), &actor.name, &action, &target, &actor.reason],
    )
    .await?;
    Ok(())
}

/// An advertiser a brandname or a number is declared for must exist.
async fn advertiser_known(tx: &deadpool_postgres::Transaction<'_>, code: &str) -> Result<(), StoreError> {
    let known: i64 = tx.query_one(sql::ADVERTISER_EXISTS, &[&code]).await?.get(0);
    if known == 0 {
        return Err(StoreError::Invalid(format!("no advertiser {code:?}")));
    }
    Ok(())
}

async fn dnc_apply(
    tx: &deadpool_postgres::Transaction<'_>,
    number: &str,
    register: bool,
    scope: u8,
    via: &str,
    actor: &str,
    at: i64,
) -> Result<DncEvent, StoreError> {
    // Lock the number's row (or its absence, through the history insert's order) for the
    // read-modify-write.
    let before: i64 = tx
        .query_opt("SELECT flags FROM dnc WHERE number = $1 FOR UPDATE", &[&number])
        .await?
        .map_or(0, |r| r.get(0));
    let before = before as u8;
    let after = dnc_after(before, register, scope);
    if after != before {
        if after == 0 {
            tx.execute(sql::DNC_DELETE, &[&number]).await?;
        } else {
            tx.execute(sql::DNC_UPSERT, &[&number, &(after as i64), &at]).await?;
        }
    }
    let action = if register { "register" } else { "cancel" };
    let id: i64 = tx
        .query_one(
            sql::DNC_HISTORY_INSERT,
            &[
                &at,
                &number,
                &action,
                &(scope as i64),
                &(before as i64),
                &(after as i64),
                &via,
                &actor,
            ],
        )
        .await?
        .get(0);
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

impl HubRecords for PgRecords {
    async fn add_report(&self, r: &NewReport, limits: ReportLimits) -> Result<ReportAdded, StoreError> {
        check_report(r)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Serialize reports of one reporter, so that two at once cannot both slip under the
        // allowance.
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&r.reporter])
            .await?;
        let used: i64 = tx
            .query_one(sql::REPORTER_COUNT, &[&r.reporter, &limits.reporter_since])
            .await?
            .get(0);
        let counted = used < limits.reporter_max as i64;
        let bands = band_columns(&r.content_bands);
        let id: i64 = tx
            .query_one(
                sql::INSERT_REPORT,
                &[
                    &r.at,
                    &r.via,
                    &r.reporter,
                    &r.kind,
                    &r.source,
                    &r.source_key,
                    &r.content,
                    &r.content_key,
                    &r.raw,
                    &(counted as i64),
                    &bands[0],
                    &bands[1],
                    &bands[2],
                ],
            )
            .await?
            .get(0);
        let mut evidence = Vec::with_capacity(r.evidence.len());
        for e in &r.evidence {
            let eid: i64 = tx
                .query_one(
                    sql::EVIDENCE_INSERT,
                    &[
                        &id,
                        &e.name,
                        &e.content_type,
                        &(e.data.len() as i64),
                        &e.sha256,
                        &e.data,
                    ],
                )
                .await?
                .get(0);
            evidence.push(evidence_stored(eid, id, e));
        }
        let source = match &r.source_key {
            Some(key) => {
                tx.execute(
                    "SELECT pg_advisory_xact_lock(hashtext($1))",
                    &[&format!("source/{key}")],
                )
                .await?;
                let n: i64 = tx
                    .query_one(sql::DISTINCT_BY_SOURCE, &[key, &limits.group_since])
                    .await?
                    .get(0);
                let row = tx
                    .query_one(
                        sql::UPSERT_SOURCE,
                        &[key, &n, &r.at, &(limits.watch_at as i64), &(limits.propose_at as i64)],
                    )
                    .await?;
                Some(source_from(&row)?)
            }
            None => None,
        };
        let content_reporters: i64 = match &r.content_key {
            Some(key) => tx
                .query_one(
                    sql::DISTINCT_BY_CONTENT,
                    &[key, &limits.group_since, &bands[0], &bands[1], &bands[2]],
                )
                .await?
                .get(0),
            None => 0,
        };
        tx.commit().await?;
        Ok(ReportAdded {
            report: Report {
                id,
                at: r.at,
                via: r.via.clone(),
                reporter: r.reporter.clone(),
                kind: r.kind.clone(),
                source: r.source.clone(),
                source_key: r.source_key.clone(),
                content: r.content.clone(),
                content_key: r.content_key.clone(),
                content_bands: r.content_bands.clone(),
                raw: r.raw.clone(),
                counted,
                status: "open".into(),
            },
            source,
            evidence,
            content_reporters: content_reporters as u32,
        })
    }

    async fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {} FROM reports WHERE id = $1", sql::REPORT_COLUMNS);
        client
            .query_opt(&sql, &[&id])
            .await?
            .as_ref()
            .map(report_from)
            .transpose()
    }

    async fn reports(&self, query: &ReportQuery) -> Result<Vec<Report>, StoreError> {
        let (sql, params) = report_filter(query);
        let values: Vec<Box<dyn ToSql + Sync + Send>> = params
            .into_iter()
            .map(|p| match p {
                ReportParam::Text(s) => Box::new(s) as Box<dyn ToSql + Sync + Send>,
                ReportParam::Int(i) => Box::new(i),
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
        let client = self.pool.get().await?;
        rows(&client.query(&sql, &refs).await?, report_from)
    }

    async fn sources(&self, status: Option<&str>, limit: usize) -> Result<Vec<SourceRecord>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {} FROM sources WHERE ($1::TEXT IS NULL OR status = $1) ORDER BY reporters DESC, last_at DESC LIMIT $2",
            sql::SOURCE_COLUMNS
        );
        rows(
            &client.query(&sql, &[&status, &(limit.min(10_000) as i64)]).await?,
            source_from,
        )
    }

    async fn decide_source(
        &self,
        key: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<Option<SourceRecord>, StoreError> {
        check_one_of("decision", status, &["confirmed", "rejected"])?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let found = tx
            .query_opt(sql::DECIDE_SOURCE, &[&key, &status, &actor.name, &actor.reason])
            .await?
            .as_ref()
            .map(source_from)
            .transpose()?;
        if found.is_some() {
            tx.execute(sql::DECIDE_REPORTS, &[&key, &status]).await?;
            let action = if status == "confirmed" {
                "hub.confirm"
            } else {
                "hub.reject"
            };
            audit(&tx, &actor, action, &source_target(key)).await?;
        }
        tx.commit().await?;
        Ok(found)
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&number])
            .await?;
        let e = dnc_apply(&tx, number, register, scope, via, actor, at).await?;
        tx.commit().await?;
        Ok(e)
    }

    async fn dnc_import(&self, entries: &[(String, u8)], actor: &str, at: i64) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut changed = 0;
        for (number, flags) in entries {
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[number])
                .await?;
            let a = dnc_apply(&tx, number, false, !flags & 3, "import", actor, at).await?;
            let b = dnc_apply(&tx, number, true, *flags, "import", actor, at).await?;
            changed += (a.before != b.after) as u64;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn dnc_entries(&self) -> Result<Vec<(String, u8)>, StoreError> {
        let client = self.pool.get().await?;
        let rs = client
            .query("SELECT number, flags FROM dnc ORDER BY number", &[])
            .await?;
        rows(&rs, |r| Ok((r.text(0)?, r.int(1)? as u8)))
    }

    async fn dnc_history(&self, number: &str) -> Result<Vec<DncEvent>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {} FROM dnc_history WHERE number = $1 ORDER BY id",
            sql::DNC_COLUMNS
        );
        rows(&client.query(&sql, &[&number]).await?, dnc_from)
    }

    async fn dnc_events_since(&self, after: i64, limit: usize) -> Result<Vec<DncEvent>, StoreError> {
        let client = self.pool.get().await?;
        let rs = client
            .query(sql::DNC_SINCE, &[&after, &(limit.min(1_000_000) as i64)])
            .await?;
        rows(&rs, dnc_from)
    }

    async fn dnc_last_event_id(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client.query_one(sql::DNC_LAST_ID, &[]).await?.get(0))
    }

    async fn otp_create(
        &self,
        number: &str,
        register: bool,
        scope: u8,
        code_hash: &str,
        expires_at: i64,
    ) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one(
                sql::OTP_INSERT,
                &[&number, &(register as i64), &(scope as i64), &code_hash, &expires_at],
            )
            .await?
            .get(0))
    }

    async fn otp_confirm(
        &self,
        id: i64,
        code_hash: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<OtpOutcome, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let sql = format!("{} FOR UPDATE", sql::OTP_GET);
        let Some(row) = tx.query_opt(&sql, &[&id]).await? else {
            return Ok(OtpOutcome::Void);
        };
        let (number, register, scope, want, expires, attempts, done) = (
            row.text(0)?,
            row.int(1)?,
            row.int(2)?,
            row.text(3)?,
            row.int(4)?,
            row.int(5)?,
            row.int(6)?,
        );
        if done != 0 || now >= expires || attempts >= max_attempts as i64 {
            return Ok(OtpOutcome::Void);
        }
        let right = want == code_hash;
        tx.execute(sql::OTP_TRY, &[&id, &(right as i64)]).await?;
        let out = if right {
            OtpOutcome::Confirmed {
                event: dnc_apply(&tx, &number, register != 0, scope as u8, "api", &number, now).await?,
            }
        } else {
            OtpOutcome::Wrong {
                left: (max_attempts as i64 - attempts - 1).max(0) as u32,
            }
        };
        tx.commit().await?;
        Ok(out)
    }

    async fn put_advertiser(
        &self,
        code: &str,
        name: &str,
        status: &str,
        actor: Actor<'_>,
    ) -> Result<(Advertiser, bool), StoreError> {
        check_one_of("advertiser status", status, REGISTER_STATUSES)?;
        let (code, name) = (code.trim(), name.trim());
        if code.is_empty() || name.is_empty() {
            return Err(StoreError::Invalid("an advertiser needs a code and a name".into()));
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let existed: i64 = tx.query_one(sql::ADVERTISER_EXISTS, &[&code]).await?.get(0);
        let row = tx
            .query_one(sql::ADVERTISER_UPSERT, &[&code, &name, &status, &now_ms()])
            .await?;
        let a = advertiser_from(&row)?;
        audit(&tx, &actor, "advertiser.put", &format!("advertiser/{code}/{status}")).await?;
        tx.commit().await?;
        Ok((a, existed == 0))
    }

    async fn advertisers(&self) -> Result<Vec<Advertiser>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {} FROM advertisers ORDER BY code", sql::ADVERTISER_COLUMNS);
        rows(&client.query(&sql, &[]).await?, advertiser_from)
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        advertiser_known(&tx, advertiser).await?;
        let existed: i64 = tx.query_one(sql::BRANDNAME_EXISTS, &[&name]).await?.get(0);
        let row = tx
            .query_one(
                sql::BRANDNAME_UPSERT,
                &[&name, &advertiser, &operators, &status, &now_ms()],
            )
            .await?;
        let b = brandname_from(&row)?;
        audit(
            &tx,
            &actor,
            "brandname.put",
            &format!("brandname/{name}/{advertiser}/{status}"),
        )
        .await?;
        tx.commit().await?;
        Ok((b, existed == 0))
    }

    async fn brandnames(&self) -> Result<Vec<Brandname>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {} FROM brandnames ORDER BY name", sql::BRANDNAME_COLUMNS);
        rows(&client.query(&sql, &[]).await?, brandname_from)
    }

    async fn add_ad_copy(&self, c: &NewAdCopy) -> Result<AdCopy, StoreError> {
        let client = self.pool.get().await?;
        let (from, to) = (c.window.map(|w| w.0), c.window.map(|w| w.1));
        let id: i64 = client
            .query_one(
                sql::COPY_INSERT,
                &[
                    &c.at,
                    &c.via,
                    &c.sender,
                    &c.brandname,
                    &c.text,
                    &from,
                    &to,
                    &c.recipients,
                ],
            )
            .await?
            .get(0);
        Ok(AdCopy {
            id,
            at: c.at,
            via: c.via.clone(),
            sender: c.sender.clone(),
            brandname: c.brandname.clone(),
            text: c.text.clone(),
            window_from: from,
            window_to: to,
            recipients: c.recipients,
        })
    }

    async fn ad_copies(&self, since: i64, limit: usize) -> Result<Vec<AdCopy>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {} FROM ad_copies WHERE at >= $1 ORDER BY id LIMIT $2",
            sql::COPY_COLUMNS
        );
        rows(
            &client.query(&sql, &[&since, &(limit.min(1_000_000) as i64)]).await?,
            copy_from,
        )
    }

    async fn hub_secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        let client = self.pool.get().await?;
        client.execute(sql::SECRET_INSERT, &[&name, &fresh, &now_ms()]).await?;
        Ok(client.query_one(sql::SECRET_GET, &[&name]).await?.get(0))
    }

    async fn outbox_add(&self, m: &NewOutgoing) -> Result<Outgoing, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                sql::OUTBOX_INSERT,
                &[&m.at, &m.sender, &m.recipient, &m.text, &m.kind, &m.expires_at],
            )
            .await?;
        outgoing_from(&row)
    }

    async fn outbox_claim(
        &self,
        by: &str,
        now: i64,
        lease_until: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let ids = tx
            .query(sql::OUTBOX_CLAIMABLE, &[&now, &(limit.min(10_000) as i64)])
            .await?;
        let (state, lease) = match lease_until {
            Some(t) => ("claimed", t),
            None => ("taken", 0),
        };
        let mut out = Vec::with_capacity(ids.len());
        for r in ids {
            let id: i64 = r.get(0);
            // The update checks again under the row lock: of two nodes racing for a message,
            // one gets it.
            if let Some(row) = tx
                .query_opt(sql::OUTBOX_CLAIM_ONE, &[&id, &state, &lease, &by, &now])
                .await?
            {
                out.push(outgoing_from(&row)?);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn outbox_finish(&self, id: i64, outcome: &OutboxOutcome, now: i64) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let (state, message_id, error) = outbox_outcome(outcome);
        client
            .execute(sql::OUTBOX_FINISH, &[&id, &state, &message_id, &error, &now])
            .await?;
        Ok(())
    }

    async fn outbox_recent(&self, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {} FROM outbox ORDER BY id DESC LIMIT $1", sql::OUTBOX_COLUMNS);
        let r = client.query(&sql, &[&(limit.min(10_000) as i64)]).await?;
        rows(&r, outgoing_from)
    }

    async fn ad_register_stamp(&self) -> Result<Vec<i64>, StoreError> {
        let client = self.pool.get().await?;
        // SUM of BIGINT is NUMERIC in PostgreSQL: cast back (sums of Unix ms fit).
        let sql = sql::AD_STAMP.replace("SUM(updated_at), 0)", "SUM(updated_at), 0)::BIGINT");
        let r = client.query_one(&sql, &[]).await?;
        (0..7).map(|i| col(&r, i)).collect()
    }

    async fn put_advertiser_number(&self, number: &str, advertiser: &str, actor: Actor<'_>) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        advertiser_known(&tx, advertiser).await?;
        tx.execute(sql::NUMBER_UPSERT, &[&number, &advertiser, &now_ms()])
            .await?;
        audit(
            &tx,
            &actor,
            "advertiser.number",
            &format!("advertiser/{advertiser}/number/{number}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn advertiser_numbers(&self) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.pool.get().await?;
        let r = client.query(sql::NUMBERS, &[]).await?;
        r.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
    }

    async fn evidence(&self, report_id: i64) -> Result<Vec<Evidence>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {} FROM report_evidence WHERE report_id = $1 ORDER BY id",
            sql::EVIDENCE_COLUMNS
        );
        rows(&client.query(&sql, &[&report_id]).await?, evidence_from)
    }

    async fn evidence_file(&self, report_id: i64, id: i64) -> Result<Option<(Evidence, Vec<u8>)>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {}, data FROM report_evidence WHERE report_id = $1 AND id = $2",
            sql::EVIDENCE_COLUMNS
        );
        match client.query_opt(&sql, &[&report_id, &id]).await? {
            Some(r) => Ok(Some((evidence_from(&r)?, col(&r, 6)?))),
            None => Ok(None),
        }
    }

    async fn propose_keywords(&self, proposals: &[NewProposal], at: i64) -> Result<ProposalsMerged, StoreError> {
        for p in proposals {
            check_proposal(p)?;
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut merged = ProposalsMerged::default();
        for p in proposals {
            let examples = examples_json(&p.examples);
            let counts = [p.unwanted_docs, p.unwanted_total, p.ham_docs, p.ham_total, p.adds_docs].map(i64::from);
            let values: [&(dyn ToSql + Sync); 13] = [
                &p.phrase,
                &p.label,
                &p.z,
                &p.log_odds,
                &counts[0],
                &counts[1],
                &counts[2],
                &counts[3],
                &p.ham_rate_upper,
                &counts[4],
                &examples,
                &p.source,
                &at,
            ];
            if tx.execute(sql::PROPOSAL_INSERT, &values).await? == 1 {
                merged.added += 1;
            } else if tx.execute(sql::PROPOSAL_UPDATE, &values).await? == 1 {
                merged.updated += 1;
            } else {
                merged.decided += 1;
            }
        }
        tx.commit().await?;
        Ok(merged)
    }

    async fn keyword_proposals(&self, status: Option<&str>, limit: usize) -> Result<Vec<KeywordProposal>, StoreError> {
        let client = self.pool.get().await?;
        let found = match status {
            Some(s) => client.query(&proposals_query(true, limit), &[&s]).await?,
            None => client.query(&proposals_query(false, limit), &[]).await?,
        };
        rows(&found, proposal_from)
    }

    async fn decide_keyword(
        &self,
        id: i64,
        status: &str,
        actor: Actor<'_>,
        weight: f32,
    ) -> Result<Option<KeywordDecision>, StoreError> {
        check_one_of("decision", status, &PROPOSAL_STATUSES[1..])?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The lists version's row orders decisions on every node: the pack versions and the
        // approved set each pack holds follow the order of the decisions.
        tx.execute("SELECT version FROM lists_version WHERE id = 1 FOR UPDATE", &[])
            .await?;
        let one = format!("SELECT {} FROM keyword_proposals WHERE id = $1", sql::PROPOSAL_COLUMNS);
        let Some(before) = tx
            .query_opt(&one, &[&id])
            .await?
            .as_ref()
            .map(proposal_from)
            .transpose()?
        else {
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
        tx.execute(sql::PROPOSAL_DECIDE, &[&id, &status, &actor.name, &now, &actor.reason])
            .await?;
        let action = if status == "approved" {
            "keyword.approve"
        } else {
            "keyword.reject"
        };
        audit(&tx, &actor, action, &proposal_target(id)).await?;
        let (mut pack, mut version) = (None, None);
        if before.status == "approved" || status == "approved" {
            let approved = rows(
                &tx.query(&proposals_query(true, 10_000), &[&"approved"]).await?,
                proposal_from,
            )?;
            let last: i64 = tx.query_one(crate::records::sql::LAST_PACK_VERSION, &[]).await?.get(0);
            let p = pack_of(&approved, last, weight, now);
            version = Some(self.install_pack(&tx, &p, "local", actor.name, actor.reason).await?);
            pack = Some(p);
        }
        let proposal = proposal_from(&tx.query_one(&one, &[&id]).await?)?;
        tx.commit().await?;
        if let Some(v) = version {
            self.published(v);
        }
        Ok(Some(KeywordDecision {
            proposal,
            pack,
            lists_version: version,
        }))
    }

    async fn activity(&self, from: i64, to: i64, size: i64, top: usize) -> Result<HubActivity, StoreError> {
        crate::records::check_size(size)?;
        let client = self.pool.get().await?;
        let top = top as i64;
        Ok(HubActivity {
            reports: rows(
                &client.query(sql::REPORT_COUNTS, &[&from, &to]).await?,
                report_count_from,
            )?,
            report_series: rows(
                &client.query(sql::REPORT_SERIES, &[&from, &to, &size]).await?,
                series_from,
            )?,
            top_sources: rows(
                &client.query(sql::TOP_REPORTED, &[&from, &to, &top]).await?,
                reported_from,
            )?,
            dnc: rows(&client.query(sql::DNC_COUNTS, &[&from, &to]).await?, dnc_count_from)?,
            ad_copies: client
                .query_one(sql::COPY_COUNT, &[&from, &to])
                .await?
                .get::<_, i64>(0)
                .max(0) as u64,
        })
    }
}
