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

/// Tickets whose due SLA timers one pass claims at a time.
const SLA_TIMERS_PER_CLAIM: i64 = 200;

/// The SLA worker: follows the event log into the SLA projection and fires
/// warnings and breaches as they fall due. Its first pass after a start
/// catches up on everything that happened (or fell due) while no node ran.
pub async fn run_sla(state: AppState, mut stop: watch::Receiver<bool>) {
    let node = node_name();
    loop {
        if let Err(e) = sla_tick(&state, &node).await {
            tracing::warn!(error = %e, "SLA worker pass failed; retrying next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(state.config.sla_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One SLA pass on behalf of `node`: project new events, then fire every
/// timer that is due.
pub async fn sla_tick(
    state: &AppState,
    node: &str,
) -> Result<opsdesk_store::sla_clocks::SlaPass, opsdesk_store::StoreError> {
    let mut pass = state.store.project_sla(node, Timestamp::now()).await?;
    loop {
        let fired = state
            .store
            .fire_due_sla(node, Timestamp::now(), SLA_TIMERS_PER_CLAIM)
            .await?;
        pass += fired;
        if fired.tickets < SLA_TIMERS_PER_CLAIM as u64 {
            break;
        }
    }
    if pass.announced > 0 {
        tracing::info!(
            announced = pass.announced,
            "announced SLA warnings and breaches"
        );
        metrics::counter!("opsdesk_sla_announcements_total").increment(pass.announced);
    }
    Ok(pass)
}

/// A name for this process among the nodes sharing the database: host and
/// a random suffix, so a restarted node never inherits its old leases.
fn node_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".to_string());
    format!("{host}-{:08x}", rand::random::<u32>())
}

/// How often heartbeat monitors are checked for missed pings.
const HEARTBEAT_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The heartbeat worker: raises an alert for every monitor whose ping is
/// overdue (also for misses that fell due while no node ran).
pub async fn run_heartbeats(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        match state.store.check_heartbeats(Timestamp::now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(raised = n, "missed heartbeats raised alerts");
                metrics::counter!("opsdesk_heartbeats_missed_total").increment(n as u64);
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat pass failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT_CHECK_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
