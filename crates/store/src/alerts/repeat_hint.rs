//! Which batches are worth trying as plain repeats.
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

use opsdesk_domain::alerts::{ContentDigest, Fingerprint};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

const BITS: usize = 1 << 22;

pub(crate) struct RepeatHint {
    words: Vec<AtomicU64>,
    hasher: RandomState,
}

impl RepeatHint {
    pub(crate) fn new() -> RepeatHint {
        RepeatHint {
            words: (0..BITS / 64).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
        }
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
}
