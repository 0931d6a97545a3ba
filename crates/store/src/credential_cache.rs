//! Verified bearer tokens and browser sessions, remembered for a moment.
//!
//! Every API request and web page authenticates, and without this each one
//! pays a database round trip before its real work; under load that was a
//! third of a queue page's cost. An entry lives at most [`CREDENTIAL_TTL`].
//!
//! The trade-off, stated: a change on *this* node (revoking a token,
//! deactivating or demoting a user, signing out, changing a password) empties
//! the cache at once, so it takes effect on the next request. The same change
//! made through *another* node reaches this one within [`CREDENTIAL_TTL`].
//! Expiry instants are checked on every hit, so an expiring token or session
//! ends on time everywhere.

use crate::User;
use crate::tokens::Session;
use jiff::Timestamp;
use opsdesk_domain::TokenId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long another node's revocation can take to reach this one.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(2);

/// Bounds memory whatever number of distinct secrets is presented; entries
/// are only ever added after a successful check, so this is live
/// credentials, not guesses.
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone)]
pub(crate) enum Verified {
    Token {
        user: User,
        id: TokenId,
        expires_at: Option<Timestamp>,
    },
    Session(Session),
}

impl Verified {
    fn expired(&self, now: Timestamp) -> bool {
        match self {
            Verified::Token { expires_at, .. } => expires_at.is_some_and(|e| e <= now),
            Verified::Session(s) => s.expires_at <= now,
        }
    }
}

#[derive(Default)]
pub(crate) struct CredentialCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// Keyed by the secret's digest, as the database is: the cache never
    /// holds a usable secret.
    map: HashMap<String, (Instant, Verified)>,
    /// Bumped by every [`CredentialCache::clear`]. A check that read the
    /// database before a revocation must not put its now stale answer into
    /// the cache after the revocation cleared it.
    generation: u64,
}

/// Taken before reading credentials from the database; see
/// [`CredentialCache::put`].
#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

impl CredentialCache {
    /// The cached verification of `digest`, if fresh and not expired at `now`.
    pub(crate) fn get(&self, digest: &str, now: Timestamp) -> Option<Verified> {
        let mut entries = self.lock();
        let (checked, verified) = entries.map.get(digest)?;
        if checked.elapsed() >= CREDENTIAL_TTL || verified.expired(now) {
            entries.map.remove(digest);
            return None;
        }
        Some(verified.clone())
    }

    /// Call before reading the credential from the database.
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    /// Remembers a verification read from the database after `read_at`,
    /// unless a change cleared the cache since.
    pub(crate) fn put(&self, read_at: Generation, digest: String, verified: Verified) {
        let mut entries = self.lock();
        if entries.generation != read_at.0 {
            return;
        }
        if entries.map.len() >= MAX_ENTRIES {
            entries
                .map
                .retain(|_, (checked, _)| checked.elapsed() < CREDENTIAL_TTL);
            if entries.map.len() >= MAX_ENTRIES {
                entries.map.clear();
            }
        }
        entries.map.insert(digest, (Instant::now(), verified));
    }

    /// Forgets everything: called by every change to users, tokens and
    /// sessions, so this node never answers from before its own change.
    pub(crate) fn clear(&self) {
        let mut entries = self.lock();
        entries.map.clear();
        entries.generation += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every operation is a single map call), so a poisoned lock is used.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdesk_domain::{Role, UserId};

    fn user() -> User {
        User {
            id: UserId(1),
            username: "ann".into(),
            display_name: "Ann".into(),
            email: None,
            role: Role::Agent,
            organization: None,
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn token(expires_at: Option<Timestamp>) -> Verified {
        Verified::Token {
            user: user(),
            id: TokenId(7),
            expires_at,
        }
    }

    #[test]
    fn a_verified_token_is_answered_from_memory_until_cleared() {
        let cache = CredentialCache::default();
        let now = Timestamp::now();
        cache.put(cache.generation(), "d".into(), token(None));
        assert!(cache.get("d", now).is_some());
        assert!(cache.get("other", now).is_none());
        cache.clear();
        assert!(cache.get("d", now).is_none());
    }

    #[test]
    fn a_check_that_read_before_a_revocation_is_not_remembered() {
        let cache = CredentialCache::default();
        let read_at = cache.generation();
        cache.clear(); // a revocation committed while the check was reading
        cache.put(read_at, "d".into(), token(None));
        assert!(cache.get("d", Timestamp::now()).is_none());
    }

    #[test]
    fn an_expired_token_is_not_answered_even_when_fresh() {
        let cache = CredentialCache::default();
        let now = Timestamp::now();
        let soon = now
            .saturating_add(jiff::SignedDuration::from_secs(1))
            .unwrap();
        cache.put(cache.generation(), "d".into(), token(Some(soon)));
        assert!(cache.get("d", now).is_some());
        let later = soon
            .saturating_add(jiff::SignedDuration::from_micros(1))
            .unwrap();
        assert!(cache.get("d", later).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = CredentialCache::default();
        for i in 0..MAX_ENTRIES + 5 {
            cache.put(cache.generation(), format!("d{i}"), token(None));
        }
        assert!(cache.lock().map.len() <= MAX_ENTRIES);
        assert!(
            cache
                .get(&format!("d{}", MAX_ENTRIES + 4), Timestamp::now())
                .is_some()
        );
    }
}
