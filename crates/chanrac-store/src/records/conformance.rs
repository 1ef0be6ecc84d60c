//! The conformance suite every [`Records`] backend passes: the semantics of the module
//! documentation, checked. The test files of this crate run it against SQLite and against
//! a real PostgreSQL server; a new backend calls [`run_all`] from its own tests.
//!
//! Each check takes a fresh, empty store.

use std::sync::Arc;

use chanrac_core::{Action, Category, ListKind};

use super::{
    Actor, ChangeOp, DimRow, Dimension, Provenance, Records, Side, StatsRow, TopKind, TopRow, VerdictQuery,
    VerdictRecord,
};
use crate::StoreError;

const ANALYST: Actor<'static> = Actor {
    name: "analyst",
    reason: "reported by 12 subscribers",
};

/// Runs every check on stores made by `fresh` (one new, empty store per check).
pub async fn run_all<R, F, Fut>(mut fresh: F)
where
    R: Records,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = R>,
{
    lists_are_canonical_and_idempotent(&fresh().await).await;
    invalid_entries_are_refused(&fresh().await).await;
    changes_are_announced(&fresh().await).await;
    every_change_is_audited(&fresh().await).await;
    statistics_add_up(&fresh().await).await;
    statistics_by_dimension_add_up(&fresh().await).await;
    concurrent_writers_lose_nothing(&fresh().await).await;
    the_verdict_log_finds_and_prunes(&fresh().await).await;
    entries_keep_their_provenance(&fresh().await).await;
    let (hub, operator) = (fresh().await, fresh().await);
    the_change_log_feeds_another_store(&hub, &operator).await;
}

/// An entry keeps the provenance it was added with; a bad one is refused.
pub async fn entries_keep_their_provenance<R: Records>(s: &R) {
    let p = Provenance {
        source: "operator:viettel".into(),
        evidence: "reports 12, 17; campaign vay-tien-11".into(),
        confidence: 80,
        first_seen: Some(1_000),
        last_seen: Some(2_000),
        expires_at: Some(4_102_444_800_000),
    };
    let (e, created) = s
        .add_list_entry_with(Side::Block, ListKind::Domains, "vay-nhanh.xyz", ANALYST, p.clone())
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (
            e.source.as_str(),
            e.evidence.as_str(),
            e.confidence,
            e.first_seen,
            e.last_seen,
            e.expires_at
        ),
        (
            "operator:viettel",
            p.evidence.as_str(),
            80,
            1_000,
            2_000,
            Some(4_102_444_800_000)
        )
    );
    assert_eq!(s.list_entries().await.unwrap(), std::slice::from_ref(&e));
    let (plain, _) = s
        .add_list_entry(Side::Block, ListKind::Senders, "0912345678", ANALYST)
        .await
        .unwrap();
    assert_eq!(
        (plain.source.as_str(), plain.confidence, plain.expires_at),
        ("local", 100, None)
    );
    assert_eq!(plain.first_seen, plain.added_at);
    for bad in [
        Provenance {
            confidence: 101,
            ..p.clone()
        },
        Provenance {
            first_seen: Some(5),
            last_seen: Some(4),
            ..p.clone()
        },
        Provenance {
            source: String::new(),
            ..p.clone()
        },
    ] {
        let err = s
            .add_list_entry_with(Side::Block, ListKind::Senders, "0987654321", ANALYST, bad)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    }
    assert_eq!(s.lists_version().await.unwrap(), 2, "refused entries change nothing");
    // Expired entries: those with an expiry at or before the time asked, soonest first.
    let expiring = |at| Provenance {
        expires_at: Some(at),
        ..p.clone()
    };
    for (value, at) in [("late.xyz", 9_000), ("soon.xyz", 5_000), ("now.xyz", 7_000)] {
        s.add_list_entry_with(Side::Block, ListKind::Domains, value, ANALYST, expiring(at))
            .await
            .unwrap();
    }
    let values = |v: Vec<super::ListEntry>| v.into_iter().map(|e| e.value).collect::<Vec<_>>();
    assert!(s.expired_entries(4_999, 10).await.unwrap().is_empty());
    assert_eq!(
        values(s.expired_entries(7_000, 10).await.unwrap()),
        ["soon.xyz", "now.xyz"]
    );
    assert_eq!(values(s.expired_entries(10_000, 1).await.unwrap()), ["soon.xyz"]);
    assert_eq!(
        s.expired_entries(i64::MAX, 10).await.unwrap().len(),
        4,
        "the far expiry too; never the plain entry"
    );
}

/// Every change is in the log once, in version order, resumable from any version; a page
/// applied to another store moves its entries and its cursor together, never twice, never
/// out of order, and a revocation removes only what the feed added.
pub async fn the_change_log_feeds_another_store<R: Records>(hub: &R, op: &R) {
    let who = |reason| Actor {
        name: "hub-analyst",
        reason,
    };
    hub.add_list_entry(Side::Block, ListKind::Senders, "0912 345 678", who("loan spam"))
        .await
        .unwrap();
    hub.add_list_entry(Side::Block, ListKind::Domains, "vay-nhanh.xyz", who("phishing"))
        .await
        .unwrap();
    hub.add_list_entry(Side::Block, ListKind::Senders, "+84912345678", who("again"))
        .await
        .unwrap();
    hub.remove_list_entry(Side::Block, ListKind::Senders, "84912345678", who("false positive"))
        .await
        .unwrap();
    hub.add_list_entry(Side::Block, ListKind::Accounts, "0071 000 123 456", who("mule account"))
        .await
        .unwrap();
    let all = hub.list_changes(0, 100).await.unwrap();
    let ops: Vec<_> = all
        .iter()
        .map(|c| {
            (
                c.version,
                c.op,
                c.entry().unwrap().value.as_str(),
                c.entry().unwrap().reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            (1, ChangeOp::Add, "+84912345678", "loan spam"),
            (2, ChangeOp::Add, "vay-nhanh.xyz", "phishing"),
            (3, ChangeOp::Remove, "+84912345678", "false positive"),
            (4, ChangeOp::Add, "0071000123456", "mule account"),
        ]
    );
    assert_eq!(all.last().unwrap().version, hub.lists_version().await.unwrap());
    assert_eq!(hub.list_changes(2, 1).await.unwrap(), all[2..3]);
    assert!(hub.list_changes(4, 10).await.unwrap().is_empty());

    // The operator lists a number itself: the hub's revocation must not remove it.
    op.add_list_entry(Side::Block, ListKind::Senders, "0912345678", who("own finding"))
        .await
        .unwrap();
    assert_eq!(op.sync_cursor("hub").await.unwrap(), 0);
    // A page that does not start at the cursor, or is out of order, changes nothing.
    let err = op.apply_feed("hub", 2, 4, &all[2..]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = op
        .apply_feed("hub", 0, 4, &[all[1].clone(), all[0].clone()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(op.sync_cursor("hub").await.unwrap(), 0);
    assert_eq!(op.list_entries().await.unwrap().len(), 1);

    op.apply_feed("hub", 0, 2, &all[..2]).await.unwrap();
    assert_eq!(op.sync_cursor("hub").await.unwrap(), 2);
    let err = op.apply_feed("hub", 0, 2, &all[..2]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "a page is never applied twice: {err}"
    );
    op.apply_feed("hub", 2, 4, &all[2..]).await.unwrap();
    op.apply_feed("hub", 4, 4, &[]).await.unwrap();
    assert_eq!(op.sync_cursor("hub").await.unwrap(), 4);
    let entries = op.list_entries().await.unwrap();
    let have: Vec<_> = entries
        .iter()
        .map(|e| (e.kind, e.value.as_str(), e.added_by.as_str(), e.source.as_str()))
        .collect();
    assert_eq!(
        have,
        [
            (ListKind::Accounts, "0071000123456", "sync:hub", "local"),
            (ListKind::Domains, "vay-nhanh.xyz", "sync:hub", "local"),
            (ListKind::Senders, "+84912345678", "hub-analyst", "local"),
        ]
    );
    // The operator's own log has what it applied, so that it can feed others in turn.
    let local = op.list_changes(0, 100).await.unwrap();
    assert_eq!(local.len(), 3);
    assert_eq!(local.last().unwrap().version, op.lists_version().await.unwrap());
}

/// Logged verdicts are found by id, sender, recipient, action and time, newest first, and
/// pruned by age.
pub async fn the_verdict_log_finds_and_prunes<R: Records>(s: &R) {
    let v = |at: i64, id: &str, sender: &str, action: Action| VerdictRecord {
        id: 0,
        at,
        message_id: Some(id.to_string()),
        source: "http".into(),
        sender: Some(sender.to_string()),
        recipient: Some("+84987654321".into()),
        text: format!("tin nhắn {id} — trúng thưởng"),
        action,
        category: Category::Scam,
        score: 12.5,
        reasons: r#"[{"signal":"VI_PRIZE","weight":5.0,"evidence":"trúng thưởng"}]"#.into(),
    };
    let mut c = v(3000, "c", "0900000000", Action::Block);
    c.recipient = Some("+84911111111".into());
    s.add_verdicts(Arc::from([
        v(1000, "a", "0912345678", Action::Block),
        v(2000, "b", "0912345678", Action::Tag),
        c,
    ]))
    .await
    .unwrap();
    s.add_verdicts(Arc::from([])).await.unwrap();
    let q = |f: &dyn Fn(&mut VerdictQuery)| {
        let mut q = VerdictQuery {
            limit: 10,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let ids = |v: Vec<VerdictRecord>| v.into_iter().map(|r| r.message_id.unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(s.find_verdicts(&q(&|_| {})).await.unwrap()), ["c", "b", "a"]);
    assert_eq!(
        ids(s
            .find_verdicts(&q(&|q| q.sender = Some("0912345678".into())))
            .await
            .unwrap()),
        ["b", "a"]
    );
    assert_eq!(
        ids(s.find_verdicts(&q(&|q| q.action = Some(Action::Block))).await.unwrap()),
        ["c", "a"]
    );
    assert_eq!(
        ids(s.find_verdicts(&q(&|q| q.message_id = Some("b".into()))).await.unwrap()),
        ["b"]
    );
    assert_eq!(
        ids(s
            .find_verdicts(&q(&|q| {
                q.from = Some(1500);
                q.to = Some(3000)
            }))
            .await
            .unwrap()),
        ["b"]
    );
    // A recipient alone, with a sender, with everything at once.
    assert_eq!(
        ids(s
            .find_verdicts(&q(&|q| q.recipient = Some("+84987654321".into())))
            .await
            .unwrap()),
        ["b", "a"]
    );
    assert_eq!(
        ids(s
            .find_verdicts(&q(&|q| q.recipient = Some("+84911111111".into())))
            .await
            .unwrap()),
        ["c"]
    );
    assert_eq!(
        ids(s
            .find_verdicts(&q(&|q| {
                q.sender = Some("0912345678".into());
                q.recipient = Some("+84987654321".into());
                q.action = Some(Action::Tag);
            }))
            .await
            .unwrap()),
        ["b"]
    );
    let all = s.find_verdicts(&q(&|_| {})).await.unwrap();
    assert_eq!(
        ids(s
            .find_verdicts(&q(&|q| {
                q.message_id = Some("a".into());
                q.sender = Some("0912345678".into());
                q.recipient = Some("+84987654321".into());
                q.action = Some(Action::Block);
                q.from = Some(1000);
                q.to = Some(1001);
                q.before_id = Some(all[0].id);
            }))
            .await
            .unwrap()),
        ["a"]
    );
    assert!(
        s.find_verdicts(&q(&|q| {
            q.sender = Some("0912345678".into());
            q.recipient = Some("+84911111111".into());
        }))
        .await
        .unwrap()
        .is_empty()
    );
    let found = &all[2];
    assert_eq!(
        (
            found.text.as_str(),
            found.score,
            found.category,
            found.reasons.contains("VI_PRIZE")
        ),
        ("tin nhắn a — trúng thưởng", 12.5, Category::Scam, true)
    );
    assert_eq!(
        ids(s.find_verdicts(&q(&|q| q.before_id = Some(all[0].id))).await.unwrap()),
        ["b", "a"]
    );
    assert_eq!(ids(s.find_verdicts(&q(&|q| q.limit = 1)).await.unwrap()), ["c"]);
    assert_eq!(s.prune_verdicts(2500).await.unwrap(), 2);
    assert_eq!(ids(s.find_verdicts(&q(&|_| {})).await.unwrap()), ["c"]);

    // A large write (as the verdict log's writer makes them) keeps its order, and absent
    // ids, senders and recipients stay absent.
    let many: Vec<VerdictRecord> = (0..12_001)
        .map(|i| {
            let mut r = v(4000, &format!("m{i}"), "0912345678", Action::Tag);
            if i % 2 == 1 {
                (r.message_id, r.sender, r.recipient) = (None, None, None);
            }
            r
        })
        .collect();
    s.add_verdicts(many.into()).await.unwrap();
    let newest = s.find_verdicts(&q(&|q| q.limit = 3)).await.unwrap();
    let got: Vec<_> = newest
        .iter()
        .map(|r| (r.message_id.as_deref(), r.sender.as_deref(), r.recipient.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("m12000"), Some("0912345678"), Some("+84987654321")),
            (None, None, None),
            (Some("m11998"), Some("0912345678"), Some("+84987654321"))
        ]
    );
    let first = s
        .find_verdicts(&q(&|q| q.message_id = Some("m0".into())))
        .await
        .unwrap();
    assert!(first[0].id < newest[0].id && newest[0].id - first[0].id == 12_000);
    assert_eq!(s.prune_verdicts(5000).await.unwrap(), 12_002);
}

/// Entries are stored canonically; adding twice changes nothing; removing works in any form.
pub async fn lists_are_canonical_and_idempotent<R: Records>(s: &R) {
    assert_eq!(s.lists_version().await.unwrap(), 0);
    let (e, new) = s
        .add_list_entry(Side::Block, ListKind::Senders, "0912 345 678", ANALYST)
        .await
        .unwrap();
    assert!(new);
    assert_eq!(e.value, "+84912345678");
    assert_eq!(
        (e.added_by.as_str(), e.reason.as_str()),
        ("analyst", "reported by 12 subscribers")
    );
    let (again, new) = s
        .add_list_entry(Side::Block, ListKind::Senders, "+84912345678", ANALYST)
        .await
        .unwrap();
    assert!(!new, "a second add of the same number is not new");
    assert_eq!(again.added_at, e.added_at);
    assert_eq!(
        s.lists_version().await.unwrap(),
        1,
        "an add that changes nothing bumps nothing"
    );
    s.add_list_entry(Side::Block, ListKind::Senders, "0909*", ANALYST)
        .await
        .unwrap();
    s.add_list_entry(Side::Allow, ListKind::Brandnames, "Vietcombank", ANALYST)
        .await
        .unwrap();
    s.add_list_entry(Side::Block, ListKind::Domains, "Evil.XYZ", ANALYST)
        .await
        .unwrap();
    s.add_list_entry(Side::Block, ListKind::Accounts, "0071 000 123456", ANALYST)
        .await
        .unwrap();
    let mut values: Vec<(Side, ListKind, String)> = s
        .list_entries()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.side, e.kind, e.value))
        .collect();
    values.sort_by(|a, b| (a.0.as_str(), a.1.name(), &a.2).cmp(&(b.0.as_str(), b.1.name(), &b.2)));
    assert_eq!(
        values,
        [
            (Side::Allow, ListKind::Brandnames, "VIETCOMBANK".to_string()),
            (Side::Block, ListKind::Accounts, "0071000123456".to_string()),
            (Side::Block, ListKind::Domains, "evil.xyz".to_string()),
            (Side::Block, ListKind::Senders, "+84909*".to_string()),
            (Side::Block, ListKind::Senders, "+84912345678".to_string()),
        ]
    );
    assert!(
        s.remove_list_entry(Side::Block, ListKind::Senders, "84 912 345 678", ANALYST)
            .await
            .unwrap()
    );
    assert!(
        !s.remove_list_entry(Side::Block, ListKind::Senders, "0912345678", ANALYST)
            .await
            .unwrap()
    );
    assert!(
        !s.remove_list_entry(Side::Allow, ListKind::Domains, "evil.xyz", ANALYST)
            .await
            .unwrap()
    );
    assert_eq!(s.list_entries().await.unwrap().len(), 4);
    assert_eq!(s.lists_version().await.unwrap(), 6);
}

/// An entry of the wrong form is refused with the reason, and nothing changes.
pub async fn invalid_entries_are_refused<R: Records>(s: &R) {
    for (kind, value) in [
        (ListKind::Senders, "Vietcombank"),
        (ListKind::Brandnames, "THIS IS FAR TOO LONG"),
        (ListKind::Domains, "localhost"),
        (ListKind::Accounts, "12ab"),
        (ListKind::Senders, "   "),
    ] {
        match s.add_list_entry(Side::Block, kind, value, ANALYST).await {
            Err(StoreError::Invalid(why)) => assert!(!why.is_empty()),
            other => panic!("{kind:?} {value:?}: expected Invalid, got {other:?}"),
        }
    }
    assert!(s.list_entries().await.unwrap().is_empty());
    assert_eq!(s.lists_version().await.unwrap(), 0);
    assert!(s.audit_log(0, 10).await.unwrap().is_empty());
}

/// A change is announced to subscribers with the new version.
pub async fn changes_are_announced<R: Records>(s: &R) {
    let mut rx = s.changes();
    let before = *rx.borrow_and_update();
    s.add_list_entry(Side::Block, ListKind::Domains, "phish.top", ANALYST)
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), rx.changed())
        .await
        .expect("a change is announced within 5 s")
        .unwrap();
    assert_eq!(*rx.borrow(), before + 1);
}

/// Every list change, and every other audited action, is in the audit log, in order.
pub async fn every_change_is_audited<R: Records>(s: &R) {
    s.add_list_entry(Side::Block, ListKind::Senders, "0912345678", ANALYST)
        .await
        .unwrap();
    s.add_list_entry(Side::Block, ListKind::Senders, "0912345678", ANALYST)
        .await
        .unwrap();
    s.remove_list_entry(
        Side::Block,
        ListKind::Senders,
        "0912345678",
        Actor {
            name: "supervisor",
            reason: "false positive, a clinic",
        },
    )
    .await
    .unwrap();
    s.audit(
        "reload",
        "rules, lists, policy",
        Actor {
            name: "ops",
            reason: "new rule pack",
        },
    )
    .await
    .unwrap();
    let log = s.audit_log(0, 100).await.unwrap();
    let got: Vec<(&str, &str, &str, &str)> = log
        .iter()
        .map(|r| {
            (
                r.actor.as_str(),
                r.action.as_str(),
                r.target.as_str(),
                r.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "analyst",
                "list.add",
                "block/senders/+84912345678",
                "reported by 12 subscribers"
            ),
            (
                "supervisor",
                "list.remove",
                "block/senders/+84912345678",
                "false positive, a clinic"
            ),
            ("ops", "reload", "rules, lists, policy", "new rule pack"),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].id < w[1].id && w[0].at <= w[1].at));
    let after_first = s.audit_log(log[0].id, 100).await.unwrap();
    assert_eq!(after_first.len(), 2);
    assert_eq!(s.audit_log(0, 1).await.unwrap().len(), 1);
}

/// Statistics are additive per minute, filtered by range, and ranked.
pub async fn statistics_add_up<R: Records>(s: &R) {
    let row = |bucket, action, category, count| StatsRow {
        bucket,
        action,
        category,
        count,
    };
    let top = |bucket, kind, value: &str, count| TopRow {
        bucket,
        kind,
        value: value.to_string(),
        count,
    };
    s.add_stats(
        &[
            row(600, Action::Allow, Category::Ham, 90),
            row(600, Action::Block, Category::Scam, 7),
            row(660, Action::Block, Category::Scam, 3),
        ],
        &[
            top(600, TopKind::Sender, "+84912345678", 5),
            top(600, TopKind::Domain, "vtb-qua.xyz", 7),
        ],
    )
    .await
    .unwrap();
    // A second node flushes the same minute.
    s.add_stats(
        &[row(600, Action::Block, Category::Scam, 2)],
        &[
            top(660, TopKind::Sender, "+84912345678", 3),
            top(660, TopKind::Sender, "+84987654321", 4),
        ],
    )
    .await
    .unwrap();
    s.add_stats(&[], &[]).await.unwrap();
    assert_eq!(
        s.stats(600, 660).await.unwrap(),
        [
            row(600, Action::Allow, Category::Ham, 90),
            row(600, Action::Block, Category::Scam, 9)
        ]
    );
    assert_eq!(s.stats(0, 10_000).await.unwrap().len(), 3);
    assert!(s.stats(720, 10_000).await.unwrap().is_empty());
    assert_eq!(
        s.top(TopKind::Sender, 0, 10_000, 10).await.unwrap(),
        [("+84912345678".to_string(), 8), ("+84987654321".to_string(), 4)]
    );
    assert_eq!(
        s.top(TopKind::Sender, 660, 720, 1).await.unwrap(),
        [("+84987654321".to_string(), 4)]
    );
    assert_eq!(
        s.top(TopKind::Domain, 0, 10_000, 10).await.unwrap(),
        [("vtb-qua.xyz".to_string(), 7)]
    );
}

/// Counts by dimension add up across flushes and nodes, sum into buckets that start at
/// `from`, and keep dimensions apart.
pub async fn statistics_by_dimension_add_up<R: Records>(s: &R) {
    let row = |bucket, dimension, key: &str, action: &str, label: &str, count| DimRow {
        bucket,
        dimension,
        key: key.to_string(),
        action: action.to_string(),
        label: label.to_string(),
        count,
    };
    let day = 86_400;
    s.add_all_stats(
        &[],
        &[],
        &[
            row(0, Dimension::Operator, "viettel", "block", "scam", 4),
            row(60, Dimension::Operator, "viettel", "block", "scam", 1),
            row(60, Dimension::Operator, "", "allow", "ham", 10),
            row(day + 120, Dimension::Operator, "viettel", "block", "scam", 2),
            row(60, Dimension::Calls, "mobifone", "suspected", "robocall", 1),
        ],
    )
    .await
    .unwrap();
    // A second node flushes the same minute, with its totals.
    let total = StatsRow {
        bucket: 0,
        action: Action::Block,
        category: Category::Scam,
        count: 3,
    };
    s.add_all_stats(
        &[total],
        &[],
        &[row(0, Dimension::Operator, "viettel", "block", "scam", 3)],
    )
    .await
    .unwrap();
    s.add_all_stats(&[], &[], &[]).await.unwrap();
    assert_eq!(s.stats(0, 60).await.unwrap(), [total], "the totals of the same flush");
    assert_eq!(
        s.dim_stats(Dimension::Operator, 0, 2 * day, day).await.unwrap(),
        [
            row(0, Dimension::Operator, "", "allow", "ham", 10),
            row(0, Dimension::Operator, "viettel", "block", "scam", 8),
            row(day, Dimension::Operator, "viettel", "block", "scam", 2),
        ]
    );
    // One bucket for the whole period; `to` is exclusive.
    assert_eq!(
        s.dim_stats(Dimension::Operator, 0, day + 120, 10 * day).await.unwrap(),
        [
            row(0, Dimension::Operator, "", "allow", "ham", 10),
            row(0, Dimension::Operator, "viettel", "block", "scam", 8),
        ]
    );
    // Buckets start at `from`, not at the epoch.
    assert_eq!(
        s.dim_stats(Dimension::Operator, 60, 2 * day, day).await.unwrap(),
        [
            row(60, Dimension::Operator, "", "allow", "ham", 10),
            row(60, Dimension::Operator, "viettel", "block", "scam", 1),
            row(day + 60, Dimension::Operator, "viettel", "block", "scam", 2),
        ]
    );
    assert_eq!(
        s.dim_stats(Dimension::Calls, 0, day, day).await.unwrap(),
        [row(0, Dimension::Calls, "mobifone", "suspected", "robocall", 1)]
    );
    assert!(s.dim_stats(Dimension::Ad, 0, day, day).await.unwrap().is_empty());
    assert!(matches!(
        s.dim_stats(Dimension::Calls, 0, day, 0).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Concurrent writers: every distinct entry lands, and a contested one lands once.
pub async fn concurrent_writers_lose_nothing<R: Records>(s: &R) {
    let adds = (0..20).map(|i| {
        let number = format!("09123450{i:02}");
        async move { s.add_list_entry(Side::Block, ListKind::Senders, &number, ANALYST).await }
    });
    for r in futures_join_all(adds).await {
        assert!(r.unwrap().1);
    }
    let same = (0..10).map(|_| s.add_list_entry(Side::Block, ListKind::Domains, "same.top", ANALYST));
    let new = futures_join_all(same)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().1)
        .count();
    assert_eq!(new, 1, "exactly one of ten identical adds is new");
    assert_eq!(s.list_entries().await.unwrap().len(), 21);
    assert_eq!(s.lists_version().await.unwrap(), 21);
    assert_eq!(s.audit_log(0, 1000).await.unwrap().len(), 21);
}

/// Polls futures together (a tiny `join_all`, to keep this crate's dependencies small).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in set.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}
