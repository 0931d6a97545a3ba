//! Background work driven by the database, so any number of nodes can run
//! it: each pass re-checks state under the store's write lock, and work that
//! fell due while every node was down is done on the first pass at start.

use crate::AppState;
use jiff::Timestamp;
use tokio::sync::watch;

/// How often the planner statistics are refreshed.
const OPTIMIZE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    // Statistics first (in the background of the first pass), then hourly.
    let mut last_optimize: Option<std::time::Instant> = None;
    loop {
        if let Err(e) = tick(&state).await {
            tracing::warn!(error = %e, "timer worker pass failed; retrying next interval");
        }
        if last_optimize.is_none_or(|t| t.elapsed() >= OPTIMIZE_EVERY) {
            last_optimize = Some(std::time::Instant::now());
            if let Err(e) = state.store.optimize().await {
                tracing::warn!(error = %e, "refreshing planner statistics failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(state.config.worker_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One pass: close resolved tickets whose reopen window has ended.
pub async fn tick(state: &AppState) -> Result<u64, opsdesk_store::StoreError> {
    let mut total = 0;
    loop {
        let closed = state
            .store
            .close_expired_resolutions(state.config.reopen, Timestamp::now(), 500)
            .await?;
        total += closed;
        if closed < 500 {
            break;
        }
    }
    if total > 0 {
        tracing::info!(closed = total, "closed tickets whose reopen window ended");
        metrics::counter!("opsdesk_auto_closed_tickets_total").increment(total);
    }
    Ok(total)
}
