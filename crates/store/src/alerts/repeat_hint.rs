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

/// A fixed set of bits, set and read without locks; a hash picks the bit.
struct Bits {
    words: Vec<AtomicU64>,
}

impl Bits {
    /// `bits` must be a power of two.
    fn new(bits: usize) -> Bits {
        Bits {
            words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The word and the mask of the bit `hash` picks.
    fn place(&self, hash: u64) -> (&AtomicU64, u64) {
        let bit = (hash as usize) & (self.words.len() * 64 - 1);
        (&self.words[bit / 64], 1 << (bit % 64))
    }

    fn set(&self, hash: u64) {
        let (word, mask) = self.place(hash);
        word.fetch_or(mask, Ordering::Relaxed);
    }

    fn is_set(&self, hash: u64) -> bool {
        let (word, mask) = self.place(hash);
        word.load(Ordering::Relaxed) & mask != 0
    }
}

pub(crate) struct RepeatHint {
    /// By integration, fingerprint and digest: stored firing by this node.
    digests: Bits,
    /// By integration and fingerprint: stored by this node.
    stored: Bits,
    hasher: RandomState,
}

impl RepeatHint {
    pub(crate) fn new() -> RepeatHint {
        RepeatHint {
            digests: Bits::new(BITS),
            stored: Bits::new(STORED_BITS),
            hasher: RandomState::new(),
        }
    }

    /// Remembers that this alert is stored (whatever its state).
    pub(crate) fn remember_stored(&self, integration: i64, fingerprint: Fingerprint) {
        self.stored
            .set(self.hasher.hash_one((integration, fingerprint.0)));
    }

    /// Whether this alert may be stored: `false` only for an alert this
    /// node never stored.
    pub(crate) fn may_exist(&self, integration: i64, fingerprint: Fingerprint) -> bool {
        self.stored
            .is_set(self.hasher.hash_one((integration, fingerprint.0)))
    }

    /// Remembers that this alert was stored with this digest.
    pub(crate) fn remember(
        &self,
        integration: i64,
        fingerprint: Fingerprint,
        digest: ContentDigest,
    ) {
        self.digests
            .set(self.hasher.hash_one((integration, fingerprint.0, digest.0)));
    }

    /// Whether this alert may be stored with this digest.
    pub(crate) fn may_be_stored(
        &self,
        integration: i64,
        fingerprint: Fingerprint,
        digest: ContentDigest,
    ) -> bool {
        self.digests
            .is_set(self.hasher.hash_one((integration, fingerprint.0, digest.0)))
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
