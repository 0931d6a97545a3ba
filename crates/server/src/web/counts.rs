//! Queue counts for the workspace sidebar, kept off the page's critical path.
//!
//! Counting "all open" or "unassigned" is a scan of every matching row: on
//! a million tickets that takes longer than the whole page is allowed to.
//! So each agent's counts are computed in the background and cached for a
//! few seconds; a page waits for them only briefly, and otherwise shows the
//! last known counts (or none on the very first visit) while a refresh runs.
//! One refresh per user is in flight at a time, and one in the whole server
//! (so counting never takes more than one core), and counts that were slow
//! to compute stay fresh for longer (twenty times what they cost, up to five
//! minutes).

use crate::AppState;
use opsdesk_domain::UserId;
use opsdesk_store::listing::QueueCounts;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts younger than this are shown without asking the database.
const FRESH: Duration = Duration::from_secs(10);
/// How long a page waits for a refresh before rendering without it.
const WAIT: Duration = Duration::from_millis(30);
/// The longest counts stay fresh, however slow they were to compute.
const FRESH_MAX: Duration = Duration::from_secs(300);
/// Users whose counts are remembered (beyond this, all are dropped).
const MAX_USERS: usize = 10_000;

#[derive(Default)]
struct Entry {
    /// The counts, when they were computed, and how long they stay fresh.
    counts: Option<(QueueCounts, Instant, Duration)>,
    /// The user changed tickets since: ask again before trusting them.
    stale: bool,
    refreshing: bool,
}

/// Shared by every request of one server (an axum `Extension`).
#[derive(Clone)]
pub struct QueueCounter {
    entries: Arc<Mutex<HashMap<UserId, Entry>>>,
    /// One refresh at a time in the whole server.
    gate: Arc<tokio::sync::Semaphore>,
}

impl Default for QueueCounter {
    fn default() -> Self {
        QueueCounter {
            entries: Arc::default(),
            gate: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}

impl QueueCounter {
    pub fn new() -> QueueCounter {
        QueueCounter::default()
    }

    /// The user's counts: fresh ones, or what a refresh delivers within
    /// [`WAIT`], or the last known ones, or `None`.
    pub async fn get(&self, state: &AppState, user: UserId) -> Option<QueueCounts> {
        let (cached, start_refresh) = {
            let Ok(mut entries) = self.entries.lock() else {
                return None;
            };
            if entries.len() > MAX_USERS && !entries.contains_key(&user) {
                entries.clear();
            }
            let entry = entries.entry(user).or_default();
            match &entry.counts {
                Some((c, at, fresh)) if !entry.stale && at.elapsed() < *fresh => {
                    return Some(c.clone());
                }
                other => {
                    let cached = other.as_ref().map(|(c, _, _)| c.clone());
                    let start = !entry.refreshing;
                    entry.refreshing = true;
                    (cached, start)
                }
            }
        };
        if !start_refresh {
            return cached;
        }
        let entries = self.entries.clone();
        let gate = self.gate.clone();
        let store = state.store.clone();
        let task = tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            let started = Instant::now();
            let result = store.queue_counts(user, true).await;
            let fresh = (started.elapsed() * 20).clamp(FRESH, FRESH_MAX);
            let Ok(mut entries) = entries.lock() else {
                return None;
            };
            let entry = entries.entry(user).or_default();
            entry.refreshing = false;
            match result {
                Ok(c) => {
                    entry.counts = Some((c.clone(), Instant::now(), fresh));
                    entry.stale = false;
                    Some(c)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "queue counts failed");
                    None
                }
            }
        });
        match tokio::time::timeout(WAIT, task).await {
            Ok(Ok(Some(fresh))) => Some(fresh),
            _ => cached,
        }
    }

    /// Forgets a user's counts after they changed tickets, so the next page
    /// asks again (and shows the old counts only if the answer is slow).
    pub fn touch(&self, user: UserId) {
        if let Ok(mut entries) = self.entries.lock()
            && let Some(entry) = entries.get_mut(&user)
        {
            entry.stale = true;
        }
    }
}
