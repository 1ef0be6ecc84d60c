//! The conformance suite every [`HubRecords`] backend passes: the semantics of the module
//! documentation, checked. `tests/hub.rs` runs it against SQLite and a real PostgreSQL
//! server. Each check takes a fresh, empty store.

use super::{
    DncCount, HubRecords, NewAdCopy, NewEvidence, NewOutgoing, NewProposal, NewReport, OtpOutcome, OutboxOutcome,
    ProposalsMerged, ReportCount, ReportLimits, ReportQuery, ReportedSource,
};
use crate::StoreError;
use crate::records::{Actor, ChangeOp, Records};

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
    near_duplicate_contents_group_by_band(&fresh().await).await;
    evidence_is_stored_with_its_report(&fresh().await).await;
    the_ad_register_stamp_changes_with_every_change(&fresh().await).await;
    activity_counts_a_period(&fresh().await).await;
    reporters_have_an_allowance_and_old_reports_expire(&fresh().await).await;
    decisions_stand_and_are_audited(&fresh().await).await;
    concurrent_reports_lose_nothing(&fresh().await).await;
    dnc_is_idempotent_with_history(&fresh().await).await;
    one_time_passwords_are_used_once(&fresh().await).await;
    advertisers_brandnames_and_copies(&fresh().await).await;
    keyword_proposals_are_one_per_phrase(&fresh().await).await;
    approved_keywords_make_versioned_packs_in_the_feed(&fresh().await, &fresh().await).await;
    the_outbox_hands_each_message_to_one_sender(&fresh().await).await;
    secrets_are_kept_once(&fresh().await).await;
}

fn proposal(phrase: &str, z: f64) -> NewProposal {
    NewProposal {
        phrase: phrase.into(),
        label: "spam".into(),
        z,
        log_odds: z / 2.0,
        unwanted_docs: 12,
        unwanted_total: 400,
        ham_docs: 0,
        ham_total: 5000,
        ham_rate_upper: 0.0006,
        adds_docs: 7,
        examples: vec![format!("Nhan {phrase} ngay hom nay"), "second \"example\"".into()],
        source: "scheduled".into(),
    }
}

/// Mining twice updates a pending proposal's figures and never brings back a decided one;
/// bad proposals are refused whole.
pub async fn keyword_proposals_are_one_per_phrase<R: HubRecords + Records>(s: &R) {
    let m = s
        .propose_keywords(&[proposal("zorbix coin", 6.0), proposal("nap the", 4.0)], 1_000)
        .await
        .unwrap();
    assert_eq!(
        m,
        ProposalsMerged {
            added: 2,
            updated: 0,
            decided: 0
        }
    );
    let all = s.keyword_proposals(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.phrase.as_str()).collect::<Vec<_>>(),
        ["zorbix coin", "nap the"]
    );
    let first = &all[0];
    assert_eq!(
        (first.status.as_str(), first.proposed_at, first.updated_at),
        ("proposed", 1_000, 1_000)
    );
    assert_eq!(first.examples[1], "second \"example\"");
    assert_eq!((first.unwanted_docs, first.ham_total, first.adds_docs), (12, 5000, 7));

    let rejected = s
        .decide_keyword(all[1].id, "rejected", ANALYST, 3.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rejected.proposal.status, "rejected");
    assert_eq!(rejected.proposal.decided_by.as_deref(), Some("analyst"));
    assert!(rejected.pack.is_none(), "rejecting a pending keyword changes no pack");

    let mut again = proposal("zorbix coin", 8.5);
    again.unwanted_docs = 30;
    let m = s
        .propose_keywords(&[again, proposal("nap the", 9.0), proposal("vong quay", 5.0)], 2_000)
        .await
        .unwrap();
    assert_eq!(
        m,
        ProposalsMerged {
            added: 1,
            updated: 1,
            decided: 1
        }
    );
    let pending = s.keyword_proposals(Some("proposed"), 10).await.unwrap();
    assert_eq!(
        pending.iter().map(|p| p.phrase.as_str()).collect::<Vec<_>>(),
        ["zorbix coin", "vong quay"]
    );
    assert_eq!(
        (
            pending[0].z,
            pending[0].unwanted_docs,
            pending[0].proposed_at,
            pending[0].updated_at
        ),
        (8.5, 30, 1_000, 2_000)
    );
    let gone = s.keyword_proposals(Some("rejected"), 10).await.unwrap();
    assert_eq!(
        (gone.len(), gone[0].z),
        (1, 4.0),
        "a rejected phrase keeps its figures and status"
    );

    for bad in ["", "Zorbix", " leading", "two  spaces", "line\nbreak"] {
        let err = s
            .propose_keywords(&[proposal("ok", 1.0), proposal(bad, 1.0)], 3_000)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
    }
    let mut nan = proposal("ok", 1.0);
    nan.z = f64::NAN;
    assert!(s.propose_keywords(&[nan], 3_000).await.is_err());
    assert_eq!(
        s.keyword_proposals(None, 10).await.unwrap().len(),
        3,
        "refused runs store nothing"
    );
    assert!(
        s.decide_keyword(9_999, "approved", ANALYST, 3.0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        s.decide_keyword(all[0].id, "maybe", ANALYST, 3.0).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
}

/// Each change of the approved set is a new pack version with every approved keyword, in
/// the feed; another store applying the feed installs the same packs; a revoked keyword
/// leaves the next version.
pub async fn approved_keywords_make_versioned_packs_in_the_feed<R: HubRecords + Records>(hub: &R, op: &R) {
    hub.propose_keywords(&[proposal("zorbix coin", 6.0), proposal("vong quay", 5.0)], 1_000)
        .await
        .unwrap();
    let ids: Vec<i64> = hub
        .keyword_proposals(None, 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert!(hub.rule_pack().await.unwrap().is_none());
    let before = hub.lists_version().await.unwrap();

    let d = hub
        .decide_keyword(ids[0], "approved", ANALYST, 3.0)
        .await
        .unwrap()
        .unwrap();
    let pack = d.pack.unwrap();
    assert_eq!((pack.version, pack.weight), (1, 3.0));
    assert_eq!(
        pack.keywords.iter().map(|k| k.phrase.as_str()).collect::<Vec<_>>(),
        ["zorbix coin"]
    );
    assert_eq!(pack.keywords[0].proposal, ids[0]);
    assert_eq!(d.lists_version, Some(before + 1));
    assert_eq!(hub.rule_pack().await.unwrap().unwrap(), pack);
    let again = hub
        .decide_keyword(ids[0], "approved", ANALYST, 3.0)
        .await
        .unwrap()
        .unwrap();
    assert!(again.pack.is_none(), "the same decision twice makes no new pack");

    let d2 = hub
        .decide_keyword(ids[1], "approved", ANALYST, 3.0)
        .await
        .unwrap()
        .unwrap();
    let p2 = d2.pack.unwrap();
    assert_eq!(p2.version, 2);
    assert_eq!(
        p2.keywords.iter().map(|k| k.phrase.as_str()).collect::<Vec<_>>(),
        ["vong quay", "zorbix coin"]
    );
    // Revoking an approved keyword is a new version without it.
    let d3 = hub
        .decide_keyword(ids[0], "rejected", ANALYST, 3.0)
        .await
        .unwrap()
        .unwrap();
    let p3 = d3.pack.unwrap();
    assert_eq!(p3.version, 3);
    assert_eq!(
        p3.keywords.iter().map(|k| k.phrase.as_str()).collect::<Vec<_>>(),
        ["vong quay"]
    );
    assert_eq!(hub.lists_version().await.unwrap(), before + 3);

    let log = hub.list_changes(before, 100).await.unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|c| c.op == ChangeOp::Rules && c.entry.is_none()));
    assert_eq!(log[2].pack().unwrap(), &p3);
    let audit = hub.audit_log(0, 100).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| (a.action.as_str(), a.target.as_str())).collect();
    assert!(
        actions.contains(&("keyword.approve", format!("keyword/{}", ids[0]).as_str())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("keyword.reject", format!("keyword/{}", ids[0]).as_str())),
        "{actions:?}"
    );
    assert!(actions.contains(&("rules.install", "rules/v3")), "{actions:?}");

    // An operator's store following the feed installs each pack, versioned in its own log.
    let all = hub.list_changes(0, 100).await.unwrap();
    let to = all.last().unwrap().version;
    op.apply_feed("hub", 0, 2, &all[..2]).await.unwrap();
    assert_eq!(op.rule_pack().await.unwrap().unwrap().version, 2);
    op.apply_feed("hub", 2, to, &all[2..]).await.unwrap();
    assert_eq!(op.rule_pack().await.unwrap().unwrap(), p3);
    let local = op.list_changes(0, 100).await.unwrap();
    assert_eq!(local.iter().filter(|c| c.op == ChangeOp::Rules).count(), 3);
    assert_eq!(local.last().unwrap().pack().unwrap(), &p3);
    // A rule-pack change without its pack is refused, with nothing applied.
    let mut broken = all[2].clone();
    broken.rules = None;
    broken.version = to + 1;
    let err = op.apply_feed("hub", to, to + 1, &[broken]).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(op.sync_cursor("hub").await.unwrap(), to);
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
        content_bands: Vec::new(),
        raw: format!("S {source} {content}"),
        evidence: Vec::new(),
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

fn sms(at: i64, to: &str, expires_at: Option<i64>) -> NewOutgoing {
    NewOutgoing {
        at,
        sender: "5656".into(),
        recipient: to.into(),
        text: format!("Ma xac nhan cho {to}"),
        kind: "otp".into(),
        expires_at,
    }
}

/// Outbox messages are claimed oldest first, by one claimer at a time; a lease that ends
/// lets a message go back; a retry makes it claimable again, `sent` and `failed` end it; a
/// pull takes it for good; an expired message is never handed out.
pub async fn the_outbox_hands_each_message_to_one_sender<R: HubRecords>(s: &R) {
    let now = 1_800_000_000_000;
    let a = s
        .outbox_add(&sms(now, "+84912000001", Some(now + 300_000)))
        .await
        .unwrap();
    let b = s.outbox_add(&sms(now + 1, "+84912000002", None)).await.unwrap();
    let c = s
        .outbox_add(&sms(now + 2, "+84912000003", Some(now + 10)))
        .await
        .unwrap();
    assert_eq!((a.state.as_str(), a.attempts), ("pending", 0));
    assert!(a.id < b.id && b.id < c.id);

    let first = s.outbox_claim("smpp:a", now, Some(now + 60_000), 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].id, first[0].state.as_str(), first[0].attempts),
        (a.id, "claimed", 1)
    );
    assert_eq!(first[0].claimed_by.as_deref(), Some("smpp:a"));
    // Another claimer gets the others, not the one under lease; the expired one never.
    let other = s
        .outbox_claim("smpp:b", now + 20, Some(now + 100_000), 10)
        .await
        .unwrap();
    assert_eq!(other.iter().map(|m| m.id).collect::<Vec<_>>(), [b.id]);
    assert!(
        s.outbox_claim("smpp:b", now + 30, Some(now + 60_000), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The first claimer dies: after its lease the message goes to another.
    let again = s
        .outbox_claim("smpp:b", now + 60_000, Some(now + 120_000), 10)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|m| (m.id, m.attempts)).collect::<Vec<_>>(),
        [(a.id, 2)]
    );
    // A finish from a claimer whose lease was taken over still lands on the claimed row;
    // here the new claimer reports a retry, then the send.
    s.outbox_finish(a.id, &OutboxOutcome::Retry("throttled".into()), now + 60_001)
        .await
        .unwrap();
    let retry = s
        .outbox_claim("smpp:b", now + 60_002, Some(now + 100_000), 10)
        .await
        .unwrap();
    assert_eq!(
        retry.iter().map(|m| (m.id, m.attempts)).collect::<Vec<_>>(),
        [(a.id, 3)]
    );
    assert_eq!(retry[0].error.as_deref(), Some("throttled"));
    s.outbox_finish(a.id, &OutboxOutcome::Sent("smsc-9".into()), now + 60_003)
        .await
        .unwrap();
    s.outbox_finish(b.id, &OutboxOutcome::Failed("refused 0x45".into()), now + 60_003)
        .await
        .unwrap();
    // Finishing twice changes nothing.
    s.outbox_finish(a.id, &OutboxOutcome::Retry("late".into()), now + 60_004)
        .await
        .unwrap();
    assert!(
        s.outbox_claim("smpp:b", now + 200_000, Some(now + 300_000), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A gateway's pull takes messages for good.
    let d = s.outbox_add(&sms(now + 3, "+84912000004", None)).await.unwrap();
    let pulled = s.outbox_claim("gateway:g", now + 200_000, None, 10).await.unwrap();
    assert_eq!(
        pulled.iter().map(|m| (m.id, m.state.as_str())).collect::<Vec<_>>(),
        [(d.id, "taken")]
    );
    assert!(
        s.outbox_claim("gateway:g", i64::MAX / 2, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let recent = s.outbox_recent(10).await.unwrap();
    let states: Vec<(i64, &str)> = recent.iter().map(|m| (m.id, m.state.as_str())).collect();
    assert_eq!(
        states,
        [(d.id, "taken"), (c.id, "pending"), (b.id, "failed"), (a.id, "sent")]
    );
    assert_eq!(recent[3].message_id.as_deref(), Some("smsc-9"));
    assert_eq!(recent[2].error.as_deref(), Some("refused 0x45"));
}

/// A secret is stored by the first caller; every later one gets the same value.
pub async fn secrets_are_kept_once<R: HubRecords>(s: &R) {
    assert_eq!(s.hub_secret("otp", "first").await.unwrap(), "first");
    assert_eq!(s.hub_secret("otp", "second").await.unwrap(), "first");
    assert_eq!(s.hub_secret("other", "x").await.unwrap(), "x");
}

/// Reports whose contents differ (another exact key) but share an LSH band count as one
/// content's reporters, and are listed together; a report sharing nothing stays apart.
pub async fn near_duplicate_contents_group_by_band<R: HubRecords>(s: &R) {
    let now = 1_800_000_000_000;
    let with_bands = |at, reporter: &str, content: &str, bands: [&str; 3]| NewReport {
        content_bands: bands.iter().map(|b| b.to_string()).collect(),
        ..report(at, reporter, "+84912345678", content)
    };
    let a = s
        .add_report(&with_bands(now, "+84900000001", "a", ["a0", "a1", "a2"]), limits(now))
        .await
        .unwrap();
    assert_eq!(a.content_reporters, 1);
    assert_eq!(a.report.content_bands, ["a0", "a1", "a2"]);
    // Another exact key, one band in common: the same campaign.
    let b = s
        .add_report(
            &with_bands(now + 1, "+84900000002", "b", ["b0", "a1", "b2"]),
            limits(now),
        )
        .await
        .unwrap();
    assert_eq!(b.content_reporters, 2);
    // A band value in another position is another band: not grouped.
    let c = s
        .add_report(
            &with_bands(now + 2, "+84900000003", "c", ["a2", "c1", "c2"]),
            limits(now),
        )
        .await
        .unwrap();
    assert_eq!(c.content_reporters, 1);
    // A short text without bands groups by its exact key only.
    let d = s
        .add_report(&report(now + 3, "+84900000004", "a", "a"), limits(now))
        .await
        .unwrap();
    assert_eq!(d.content_reporters, 2, "exact key k-a, shared with the first");
    let like = s
        .reports(&ReportQuery {
            similar: Some(("k-b".into(), vec!["b0".into(), "a1".into(), "b2".into()])),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<i64> = like.iter().map(|r| r.id).collect();
    assert_eq!(ids, [b.report.id, a.report.id]);
    assert_eq!(
        s.report(b.report.id).await.unwrap().unwrap().content_bands,
        ["b0", "a1", "b2"]
    );
}

/// A report's evidence files are stored with it (bytes kept exactly) and read back by
/// report; another report's file is not found through this one.
pub async fn evidence_is_stored_with_its_report<R: HubRecords>(s: &R) {
    let now = 1_800_000_000_000;
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8, 255, 7, 0, 1][..]].concat();
    let file = |name: &str, data: &[u8]| NewEvidence {
        name: name.into(),
        content_type: "image/png".into(),
        data: data.to_vec(),
        sha256: format!("sha-{name}"),
    };
    let a = s
        .add_report(
            &NewReport {
                evidence: vec![file("screen.png", &png), file("second.png", b"\x89PNG\r\n\x1a\nxyz")],
                ..report(now, "+84900000001", "+84912345678", "vay tien")
            },
            limits(now),
        )
        .await
        .unwrap();
    assert_eq!(a.evidence.len(), 2);
    assert_eq!(
        (a.evidence[0].size, a.evidence[0].report_id),
        (png.len() as i64, a.report.id)
    );
    let b = s
        .add_report(&report(now + 1, "+84900000002", "+84912345678", "x"), limits(now))
        .await
        .unwrap();
    assert!(b.evidence.is_empty());
    let listed = s.evidence(a.report.id).await.unwrap();
    assert_eq!(listed, a.evidence);
    assert!(s.evidence(b.report.id).await.unwrap().is_empty());
    let (meta, bytes) = s.evidence_file(a.report.id, a.evidence[0].id).await.unwrap().unwrap();
    assert_eq!(
        (meta.name.as_str(), meta.sha256.as_str(), bytes),
        ("screen.png", "sha-screen.png", png)
    );
    assert!(s.evidence_file(b.report.id, a.evidence[0].id).await.unwrap().is_none());
}

/// Every change of the advertiser register changes its stamp; reading changes nothing.
pub async fn the_ad_register_stamp_changes_with_every_change<R: HubRecords>(s: &R) {
    let mut seen = vec![s.ad_register_stamp().await.unwrap()];
    let mut changed = |stamp: Vec<i64>| {
        assert!(!seen.contains(&stamp), "{stamp:?} seen before: {seen:?}");
        seen.push(stamp);
    };
    s.put_advertiser("QC-1", "A", "active", ANALYST).await.unwrap();
    changed(s.ad_register_stamp().await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    s.put_advertiser("QC-1", "A", "suspended", ANALYST).await.unwrap();
    changed(s.ad_register_stamp().await.unwrap());
    s.put_brandname("FPTSHOP", "QC-1", "viettel", "active", ANALYST)
        .await
        .unwrap();
    changed(s.ad_register_stamp().await.unwrap());
    s.add_ad_copy(&NewAdCopy {
        at: 1,
        via: "api".into(),
        sender: "fpt".into(),
        brandname: Some("FPTSHOP".into()),
        text: "[QC] x".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    changed(s.ad_register_stamp().await.unwrap());
    s.put_advertiser_number("+84912000111", "QC-1", ANALYST).await.unwrap();
    let last = s.ad_register_stamp().await.unwrap();
    changed(last.clone());
    // A number belongs to one advertiser: declaring it again moves it; audited.
    s.put_advertiser("QC-2", "B", "active", ANALYST).await.unwrap();
    s.put_advertiser_number("+84912000111", "QC-2", ANALYST).await.unwrap();
    s.put_advertiser_number("+84912000222", "QC-1", ANALYST).await.unwrap();
    assert_eq!(
        s.advertiser_numbers().await.unwrap(),
        [
            ("+84912000111".to_string(), "QC-2".to_string()),
            ("+84912000222".to_string(), "QC-1".to_string())
        ]
    );
    assert!(matches!(
        s.put_advertiser_number("+84912000333", "QC-9", ANALYST).await,
        Err(StoreError::Invalid(_))
    ));
    let last = s.ad_register_stamp().await.unwrap();
    assert_eq!(s.ad_register_stamp().await.unwrap(), last);
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
