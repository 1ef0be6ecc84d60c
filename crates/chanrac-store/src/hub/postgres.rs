//! [`HubRecords`] on PostgreSQL.

use tokio_postgres::types::ToSql;

use super::{
    AdCopy, Advertiser, Brandname, Cols, DncEvent, HubRecords, NewAdCopy, NewReport, OtpOutcome, REGISTER_STATUSES,
    Report, ReportAdded, ReportLimits, ReportParam, ReportQuery, SourceRecord, advertiser_from, brandname_from,
    check_one_of, check_report, copy_from, dnc_after, dnc_from, report_filter, report_from, source_from, source_target,
    sql,
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
                ],
            )
            .await?
            .get(0);
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
                .query_one(sql::DISTINCT_BY_CONTENT, &[key, &limits.group_since])
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
                raw: r.raw.clone(),
                counted,
                status: "open".into(),
            },
            source,
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
        let known: i64 = tx.query_one(sql::ADVERTISER_EXISTS, &[&advertiser]).await?.get(0);
        if known == 0 {
            return Err(StoreError::Invalid(format!("no advertiser {advertiser:?}")));
        }
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
