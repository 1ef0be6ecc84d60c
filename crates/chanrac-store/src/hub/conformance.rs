//! The conformance suite every [`HubRecords`] backend passes: the semantics of the module
//! documentation, checked. `tests/hub.rs` runs it against SQLite and a real PostgreSQL
//! server. Each check takes a fresh, empty store.

use super::{
    DncCount, HubRecords, NewAdCopy, NewReport, OtpOutcome, ReportCount, ReportLimits, ReportQuery, ReportedSource,
};
use crate::StoreError;
use crate::records::{Actor, Records};

const ANALYST: Actor<'static> = Actor {
    name: "analyst",
    reason: "12 reports, content confirmed",
};

/// Runs every check on stores made by `fresh` (one new, empty store per check).
pub async fn run_all<R, F, Fut>(mut fresh: F)
where
    R: Records + HubRecords + Clone,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = R>,
{
    reports_group_and_escalate(&fresh().await).await;
    reporters_have_an_allowance_and_old_reports_expire(&fresh().await).await;
    decisions_stand_and_are_audited(&fresh().await).await;
    concurrent_reports_lose_nothing(&fresh().await).await;
    dnc_is_idempotent_with_history(&fresh().await).await;
    one_time_passwords_are_used_once(&fresh().await).await;
    advertisers_brandnames_and_copies(&fresh().await).await;
    activity_counts_a_period(&fresh().await).await;
}

fn limits(now: i64) -> ReportLimits {
    ReportLimits {
        reporter_since: now - 86_400_000,
        reporter_max: 3,
        group_since: now - 10 * 86_400_000,
        watch_at: 2,
        propose_at: 3,
    }
}

fn report(at: i64, reporter: &str, source: &str, content: &str) -> NewReport {
    NewReport {
        at,
        via: "sms".into(),
        reporter: reporter.into(),
        kind: "spam".into(),
        source: Some(source.into()),
        source_key: Some(source.into()),
        content: content.into(),
        content_key: Some(format!("k-{content}")),
        raw: format!("S {source} {content}"),
    }
}

/// Distinct reporters raise a source to the watch list, then to a proposal; the same
/// reporter twice counts once; reports are found by source, kind and status.
pub async fn reports_group_and_escalate<R: HubRecords>(s: &R) {
    let now = 1_800_000_000_000;
    let a = s
        .add_report(&report(now, "+84900000001", "+84912345678", "vay tien"), limits(now))
        .await
        .unwrap();
    assert!(a.report.id > 0 && a.report.counted);
    assert_eq!(a.report.status, "open");
    let src = a.source.unwrap();
    assert_eq!((src.status.as_str(), src.reporters, src.reports), ("reported", 1, 1));
    let again = s
        .add_report(
            &report(now + 1, "+84900000001", "+84912345678", "vay tien"),
            limits(now),
        )
        .await
        .unwrap();
    assert_eq!(again.source.unwrap().reporters, 1, "the same reporter counts once");
    let b = s
        .add_report(
            &report(now + 2, "+84900000002", "+84912345678", "vay tien"),
            limits(now),
        )
        .await
        .unwrap();
    assert_eq!(b.source.as_ref().unwrap().status, "watch");
    assert_eq!(b.content_reporters, 2);
    let c = s
        .add_report(&report(now + 3, "+84900000003", "+84912345678", "khac"), limits(now))
        .await
        .unwrap();
    let src = c.source.unwrap();
    assert_eq!((src.status.as_str(), src.reporters, src.reports), ("proposed", 3, 4));
    assert_eq!(c.content_reporters, 1);
    // An unparsed report has no source and no content key.
    let u = s
        .add_report(
            &NewReport {
                at: now + 4,
                via: "sms".into(),
                reporter: "+84900000004".into(),
                kind: "unparsed".into(),
                raw: "hello".into(),
                ..Default::default()
            },
            limits(now),
        )
        .await
        .unwrap();
    assert!(u.source.is_none());
    assert_eq!(s.report(u.report.id).await.unwrap().unwrap(), u.report);
    assert_eq!(s.report(u.report.id + 100).await.unwrap(), None);
    let q = |f: &dyn Fn(&mut ReportQuery)| {
        let mut q = ReportQuery {
            limit: 100,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let by_source = s
        .reports(&q(&|q| q.source_key = Some("+84912345678".into())))
        .await
        .unwrap();
    assert_eq!(by_source.len(), 4);
    assert!(by_source.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let unparsed = s.reports(&q(&|q| q.kind = Some("unparsed".into()))).await.unwrap();
    assert_eq!(unparsed.len(), 1);
    let page = s
        .reports(&q(&|q| {
            q.before_id = Some(by_source[1].id);
            q.limit = 1
        }))
        .await
        .unwrap();
    assert_eq!(page[0].id, by_source[2].id);
    let proposed = s.sources(Some("proposed"), 10).await.unwrap();
    assert_eq!(proposed.len(), 1);
    assert_eq!(s.sources(None, 10).await.unwrap().len(), 1);
    assert!(s.sources(Some("watch"), 10).await.unwrap().is_empty());
    let bad = s
        .add_report(
            &NewReport {
                kind: "gossip".into(),
                ..report(now, "+84900000001", "x", "y")
            },
            limits(now),
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
}

/// Beyond its allowance a reporter's reports are kept but not counted, and reports older
/// than the window no longer count toward a source.
pub async fn reporters_have_an_allowance_and_old_reports_expire<R: HubRecords>(s: &R) {
    let now = 1_800_000_000_000;
    for i in 0..5 {
        let r = s
            .add_report(
                &report(now + i, "+84900000009", &format!("SRC{i}"), "x"),
                limits(now + i),
            )
            .await
            .unwrap();
        assert_eq!(r.report.counted, i < 3, "report {i}");
    }
    let all = s
        .reports(&ReportQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 5, "nothing is dropped");
    // Two reports eleven days ago and one now: only one counts within ten days.
    let old = now - 11 * 86_400_000;
    s.add_report(&report(old, "+84911111111", "OLDSRC", "x"), limits(old))
        .await
        .unwrap();
    s.add_report(&report(old, "+84922222222", "OLDSRC", "x"), limits(old))
        .await
        .unwrap();
    let r = s
        .add_report(&report(now, "+84933333333", "OLDSRC", "x"), limits(now))
        .await
        .unwrap();
    let src = r.source.unwrap();
    assert_eq!(src.reporters, 1);
    assert_eq!(src.status, "watch", "a status once reached does not fall back");
}

/// An analyst's decision marks the source and its open reports and is audited; later
/// reports do not undo it.
pub async fn decisions_stand_and_are_audited<R: Records + HubRecords>(s: &R) {
    let now = 1_800_000_000_000;
    for i in 0..3 {
        s.add_report(
            &report(now + i, &format!("+8490000000{i}"), "VAYNHANH", "vay"),
            limits(now),
        )
        .await
        .unwrap();
    }
    let d = s
        .decide_source("VAYNHANH", "confirmed", ANALYST)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "confirmed");
    assert_eq!(d.decided_by.as_deref(), Some("analyst"));
    let confirmed = s
        .reports(&ReportQuery {
            status: Some("confirmed".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(confirmed.len(), 3);
    let later = s
        .add_report(&report(now + 9, "+84900000009", "VAYNHANH", "vay"), limits(now))
        .await
        .unwrap();
    assert_eq!(later.source.unwrap().status, "confirmed");
    assert_eq!(s.decide_source("NOBODY", "rejected", ANALYST).await.unwrap(), None);
    assert!(matches!(
        s.decide_source("VAYNHANH", "maybe", ANALYST).await,
        Err(StoreError::Invalid(_))
    ));
    let log = s.audit_log(0, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].action.as_str(), log[0].target.as_str(), log[0].reason.as_str()),
        ("hub.confirm", "source/VAYNHANH", ANALYST.reason)
    );
}

/// Many reports at once: every one stored, the source counts every distinct reporter.
pub async fn concurrent_reports_lose_nothing<R: HubRecords + Clone>(s: &R) {
    let now = 1_800_000_000_000;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.add_report(
                &report(now + i, &format!("+849100000{:02}", i % 20), "+84987654321", "x"),
                limits(now + 40),
            )
            .await
            .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = s
        .reports(&ReportQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 40);
    let src = &s.sources(None, 10).await.unwrap()[0];
    assert_eq!((src.reporters, src.reports), (20, 40));
}

/// Registering twice changes nothing but the history; cancelling one scope keeps the other;
/// cancelling everything removes the number; an import sets flags.
pub async fn dnc_is_idempotent_with_history<R: HubRecords>(s: &R) {
    let n = "+84912345678";
    assert_eq!(s.dnc_last_event_id().await.unwrap(), 0);
    let e = s.dnc_change(n, true, 3, "sms", n, 1000).await.unwrap();
    assert_eq!((e.before, e.after, e.action.as_str()), (0, 3, "register"));
    let e = s.dnc_change(n, true, 3, "sms", n, 2000).await.unwrap();
    assert_eq!((e.before, e.after), (3, 3));
    assert_eq!(s.dnc_entries().await.unwrap(), vec![(n.to_string(), 3)]);
    let e = s.dnc_change(n, false, 1, "sms", n, 3000).await.unwrap();
    assert_eq!((e.before, e.after, e.action.as_str()), (3, 2, "cancel"));
    s.dnc_change(n, false, 2, "sms", n, 4000).await.unwrap();
    assert!(s.dnc_entries().await.unwrap().is_empty());
    let h = s.dnc_history(n).await.unwrap();
    assert_eq!(h.iter().map(|e| e.at).collect::<Vec<_>>(), [1000, 2000, 3000, 4000]);
    assert_eq!(s.dnc_last_event_id().await.unwrap(), h[3].id);
    let since = s.dnc_events_since(h[1].id, 10).await.unwrap();
    assert_eq!(since, h[2..].to_vec(), "the changes after an id, in order");
    assert_eq!(s.dnc_events_since(h[0].id, 1).await.unwrap(), h[1..2].to_vec());
    assert!(s.dnc_history("+84900000000").await.unwrap().is_empty());
    let changed = s
        .dnc_import(
            &[("+84900000001".into(), 1), ("+84900000002".into(), 3), (n.into(), 0)],
            "cli",
            5000,
        )
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let again = s
        .dnc_import(&[("+84900000001".into(), 2), ("+84900000002".into(), 3)], "cli", 6000)
        .await
        .unwrap();
    assert_eq!(again, 1);
    assert_eq!(
        s.dnc_entries().await.unwrap(),
        vec![("+84900000001".to_string(), 2), ("+84900000002".to_string(), 3)]
    );
}

/// A password confirms its change once; a wrong one costs a try; expiry and too many tries
/// void it.
pub async fn one_time_passwords_are_used_once<R: HubRecords>(s: &R) {
    let n = "+84912345678";
    let id = s.otp_create(n, true, 1, "hash-right", 10_000).await.unwrap();
    assert_eq!(
        s.otp_confirm(id, "hash-wrong", 5000, 3).await.unwrap(),
        OtpOutcome::Wrong { left: 2 }
    );
    match s.otp_confirm(id, "hash-right", 5001, 3).await.unwrap() {
        OtpOutcome::Confirmed { event } => {
            assert_eq!((event.after, event.via.as_str(), event.at), (1, "api", 5001))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.dnc_entries().await.unwrap(), vec![(n.to_string(), 1)]);
    assert_eq!(
        s.otp_confirm(id, "hash-right", 5002, 3).await.unwrap(),
        OtpOutcome::Void
    );
    let late = s.otp_create(n, false, 1, "h", 10_000).await.unwrap();
    assert_eq!(s.otp_confirm(late, "h", 10_000, 3).await.unwrap(), OtpOutcome::Void);
    let tries = s.otp_create(n, false, 1, "h", 10_000).await.unwrap();
    for left in [1, 0] {
        assert_eq!(
            s.otp_confirm(tries, "x", 5000, 2).await.unwrap(),
            OtpOutcome::Wrong { left }
        );
    }
    assert_eq!(s.otp_confirm(tries, "h", 5000, 2).await.unwrap(), OtpOutcome::Void);
    assert_eq!(s.otp_confirm(9_999_999, "h", 5000, 2).await.unwrap(), OtpOutcome::Void);
    assert_eq!(s.dnc_entries().await.unwrap(), vec![(n.to_string(), 1)]);
}

/// Advertisers and their brandnames are created, updated and audited; a brandname needs a
/// known advertiser; ad copies are kept with their window.
pub async fn advertisers_brandnames_and_copies<R: Records + HubRecords>(s: &R) {
    let (a, new) = s
        .put_advertiser("QC-0001", "FPT Retail", "active", ANALYST)
        .await
        .unwrap();
    assert!(new);
    assert_eq!(a.name, "FPT Retail");
    let (a, new) = s
        .put_advertiser("QC-0001", "FPT Retail JSC", "suspended", ANALYST)
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(a.status, "suspended");
    assert!(matches!(
        s.put_advertiser("QC-0002", "X", "gone", ANALYST).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.put_advertiser(" ", "X", "active", ANALYST).await,
        Err(StoreError::Invalid(_))
    ));
    let (b, new) = s
        .put_brandname("FPTSHOP", "QC-0001", "viettel,vinaphone", "active", ANALYST)
        .await
        .unwrap();
    assert!(new);
    assert_eq!(b.operators, "viettel,vinaphone");
    assert!(matches!(
        s.put_brandname("OTHER", "QC-9999", "", "active", ANALYST).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(s.advertisers().await.unwrap().len(), 1);
    assert_eq!(s.brandnames().await.unwrap(), vec![b]);
    let c = s
        .add_ad_copy(&NewAdCopy {
            at: 1000,
            via: "api".into(),
            sender: "fpt-key".into(),
            brandname: Some("FPTSHOP".into()),
            text: "[QC] Giam 50%".into(),
            window: Some((10, 20)),
            recipients: Some(50_000),
        })
        .await
        .unwrap();
    assert!(c.id > 0);
    s.add_ad_copy(&NewAdCopy {
        at: 2000,
        via: "sms".into(),
        sender: "+84912345678".into(),
        text: "[QC] khac".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(s.ad_copies(0, 10).await.unwrap()[0], c);
    assert_eq!(s.ad_copies(1500, 10).await.unwrap().len(), 1);
    let actions: Vec<String> = s
        .audit_log(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, ["advertiser.put", "advertiser.put", "brandname.put"]);
}

/// The activity of a period counts exactly the reports, DNC requests and ad copies with
/// `from <= at < to`, by kind, way in and status, and ranks the sources reported in it.
pub async fn activity_counts_a_period<R: Records + HubRecords>(s: &R) {
    let day = 86_400_000;
    let t0 = 1_800_000_000_000;
    // Before the period: not counted.
    s.add_report(&report(t0 - 1, "+84900000009", "+84912345678", "x"), limits(t0))
        .await
        .unwrap();
    for (i, (at, source)) in [
        (0, "+84912345678"),
        (1, "+84912345678"),
        (day, "+84912345678"),
        (day + 5, "VAYNHANH"),
    ]
    .into_iter()
    .enumerate()
    {
        s.add_report(
            &report(t0 + at, &format!("+8490000000{i}"), source, "vay"),
            limits(t0 + at),
        )
        .await
        .unwrap();
    }
    s.add_report(
        &NewReport {
            at: t0 + 7,
            via: "api".into(),
            reporter: "operator:viettel".into(),
            kind: "call".into(),
            raw: String::new(),
            ..report(t0 + 7, "operator:viettel", "VAYNHANH", "calls")
        },
        limits(t0 + 7),
    )
    .await
    .unwrap();
    s.decide_source("VAYNHANH", "confirmed", ANALYST).await.unwrap();
    // At `to`: not counted.
    s.add_report(
        &report(t0 + 2 * day, "+84900000008", "+84987654321", "x"),
        limits(t0 + 2 * day),
    )
    .await
    .unwrap();
    let n = "+84911111111";
    s.dnc_change(n, true, 1, "sms", n, t0 + 10).await.unwrap();
    s.dnc_change(n, true, 1, "sms", n, t0 + 11).await.unwrap();
    s.dnc_change(n, false, 1, "api", n, t0 + day).await.unwrap();
    s.dnc_change(n, true, 3, "sms", n, t0 - 1).await.unwrap();
    for at in [t0 - 1, t0 + 3, t0 + day + 1] {
        s.add_ad_copy(&NewAdCopy {
            at,
            via: "api".into(),
            sender: "k".into(),
            text: "[QC] x".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let a = s.activity(t0, t0 + 2 * day, day, 10).await.unwrap();
    let rc = |kind: &str, via: &str, status: &str, count| ReportCount {
        kind: kind.into(),
        via: via.into(),
        status: status.into(),
        count,
    };
    assert_eq!(
        a.reports,
        [
            rc("call", "api", "confirmed", 1),
            rc("spam", "sms", "confirmed", 1),
            rc("spam", "sms", "open", 3)
        ]
    );
    assert_eq!(a.report_series, [(t0, 3), (t0 + day, 2)]);
    let src = |key: &str, reports, reporters, status: &str| ReportedSource {
        key: key.into(),
        reports,
        reporters,
        status: status.into(),
    };
    assert_eq!(
        a.top_sources,
        [
            src("+84912345678", 3, 3, "proposed"),
            src("VAYNHANH", 2, 2, "confirmed")
        ]
    );
    let dc = |action: &str, via: &str, requests, changed| DncCount {
        action: action.into(),
        via: via.into(),
        requests,
        changed,
    };
    assert_eq!(a.dnc, [dc("cancel", "api", 1, 1), dc("register", "sms", 2, 1)]);
    assert_eq!(a.ad_copies, 2);
    assert_eq!(s.activity(t0, t0 + 2 * day, day, 1).await.unwrap().top_sources.len(), 1);
    assert_eq!(s.activity(0, 1, 1, 10).await.unwrap(), Default::default());
    assert!(matches!(
        s.activity(t0, t0 + day, 0, 10).await,
        Err(StoreError::Invalid(_))
    ));
}
