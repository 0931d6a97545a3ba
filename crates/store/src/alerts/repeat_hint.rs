//! Which batches are worth trying as plain repeats, and which alerts of a
//! new batch are worth looking up.
//!
//! A batch of plain repeats is written with one conditional `UPDATE` and no
//! read (see `intake`). Trying that on a batch of new alerts would cost a
//! wasted statement under the writer lock, so the node remembers, per
//! integration, fingerprint and [`ContentDigest`], what it wrote lately, and
//! only tries when every alert of the batch is remembered.
//!
//! The memory is a fixed bit set, never cleared: a bit that is set wrongly
//! (another alert's hash, an alert another node changed since) costs one
//! failed try, and the `UPDATE`'s own conditions decide what is a repeat,
//! never this hint. 2^22 bits is 512 KiB; with a million alerts remembered
//! about one new alert in five looks remembered, so a batch of new alerts
//! practically never does.
//!
//! A second, larger bit set remembers per integration and fingerprint
//! alone which alerts this node stored. A batch of new alerts decided
//! before the lock looks up only the alerts it has a bit for: an alert
//! stored by another node, or before this node started, is not looked up,
//! is planned as new, and makes the checked insert (which never overwrites
//! a stored alert) fall short, so the batch takes the pipeline, which then
//! remembers it. 2^24 bits is 2 MiB; with a million alerts remembered
//! about one new alert in seventeen is looked up for nothing.

use opsdesk_domain::alerts::{ContentDigest, Fingerprint};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

const BITS: usize = 1 << 22;
const STORED_BITS: usize = 1 << 24;

pub(crate) struct RepeatHint {
    words: Vec<AtomicU64>,
    /// By integration and fingerprint: stored by this node.
    stored: Vec<AtomicU64>,
    hasher: RandomState,
}

impl RepeatHint {
    pub(crate) fn new() -> RepeatHint {
        RepeatHint {
            words: (0..BITS / 64).map(|_| AtomicU64::new(0)).collect(),
            stored: (0..STORED_BITS / 64).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
        }
    }

    fn stored_bit(&self, integration: i64, fingerprint: Fingerprint) -> usize {
        let h = self.hasher.hash_one((integration, fingerprint.0));
        (h as usize) & (STORED_BITS - 1)
    }

    /// Remembers that this alert is stored (whatever its state).
    pub(crate) fn remember_stored(&self, integration: i64, fingerprint: Fingerprint) {
        let bit = self.stored_bit(integration, fingerprint);
        self.stored[bit / 64].fetch_or(1 << (bit % 64), Ordering::Relaxed);
    }

    /// Whether this alert may be stored: `false` only for an alert this
    /// node never stored.
    pub(crate) fn may_exist(&self, integration: i64, fingerprint: Fingerprint) -> bool {
        let bit = self.stored_bit(integration, fingerprint);
        self.stored[bit / 64].load(Ordering::Relaxed) & (1 << (bit % 64)) != 0
    }

    fn bit(&self, integration: i64, fingerprint: Fingerprint, digest: ContentDigest) -> usize {
        let h = self.hasher.hash_one((integration, fingerprint.0, digest.0));
        (h as usize) & (BITS - 1)
    }

    /// Remembers that this alert was stored with this digest.
    pub(crate) fn remember(
        &self,
        integration: i64,
        fingerprint: Fingerprint,
        digest: ContentDigest,
    ) {
        let bit = self.bit(integration, fingerprint, digest);
        self.words[bit / 64].fetch_or(1 << (bit % 64), Ordering::Relaxed);
    }

    /// Whether this alert may be stored with this digest.
    pub(crate) fn may_be_stored(
        &self,
        integration: i64,
        fingerprint: Fingerprint,
        digest: ContentDigest,
    ) -> bool {
        let bit = self.bit(integration, fingerprint, digest);
        self.words[bit / 64].load(Ordering::Relaxed) & (1 << (bit % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_what_it_was_told_and_little_else() {
        let hint = RepeatHint::new();
        for fp in 0..1000u64 {
            hint.remember(1, Fingerprint(fp), ContentDigest(7));
        }
        assert!((0..1000u64).all(|fp| hint.may_be_stored(1, Fingerprint(fp), ContentDigest(7))));
        let false_positives = (0..1000u64)
            .filter(|fp| hint.may_be_stored(2, Fingerprint(*fp), ContentDigest(7)))
            .count();
        assert!(false_positives < 10, "{false_positives} of 1000");
    }

    #[test]
    fn remembers_stored_alerts_whatever_their_digest() {
        let hint = RepeatHint::new();
        for fp in 0..1000u64 {
            hint.remember_stored(1, Fingerprint(fp));
        }
        assert!((0..1000u64).all(|fp| hint.may_exist(1, Fingerprint(fp))));
        let false_positives = (1000..2000u64)
            .filter(|fp| hint.may_exist(1, Fingerprint(*fp)))
            .count();
        assert!(false_positives < 5, "{false_positives} of 1000");
    }
}
