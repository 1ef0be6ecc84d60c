//! The conformance suite every [`Records`] backend passes: the semantics of the module
//! documentation, checked. The test files of this crate run it against SQLite and against
//! a real PostgreSQL server; a new backend calls [`run_all`] from its own tests.
//!
//! Each check takes a fresh, empty store.

use chanrac_core::{Action, Category, ListKind};

use super::{Actor, Records, Side, StatsRow, TopKind, TopRow};
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
    concurrent_writers_lose_nothing(&fresh().await).await;
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
