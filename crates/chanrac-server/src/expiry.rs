//! The expiry sweeper: a list entry whose `expires_at` has passed is revoked like an
//! analyst's removal (`server.expiry_sweep_secs`, every minute by default), so that the
//! revocation enters the change log — operators following the feed drop it — and the
//! firewall's lists are rebuilt without it (the store announces the change). Every
//! revocation is audited as `expiry`. Nodes sharing a store may all sweep: an entry
//! already revoked by another is skipped.

use chanrac_store::StoreError;
use chanrac_store::records::{Actor, Records};

/// Entries revoked per store read; a sweep reads again until none is left.
const PAGE: usize = 1_000;

/// Revokes every entry expired at `now` (Unix ms); returns how many this call revoked.
pub async fn sweep(records: &impl Records, now: i64) -> Result<usize, StoreError> {
    let mut revoked = 0;
    loop {
        let expired = records.expired_entries(now, PAGE).await?;
        let page = expired.len();
        for e in expired {
            let reason = format!(
                "expired at {} (source {}, added by {})",
                chanrac_hub::ministry::vn_rfc3339(e.expires_at.unwrap_or(now).div_euclid(1000)),
                e.source,
                e.added_by
            );
            let actor = Actor {
                name: "expiry",
                reason: &reason,
            };
            if records.remove_list_entry(e.side, e.kind, &e.value, actor).await? {
                revoked += 1;
                metrics::counter!("chanrac_list_entries_expired_total").increment(1);
                tracing::info!(
                    side = e.side.as_str(),
                    kind = e.kind.name(),
                    value = %e.value,
                    "expired list entry revoked"
                );
            }
        }
        if page < PAGE {
            return Ok(revoked);
        }
    }
}
