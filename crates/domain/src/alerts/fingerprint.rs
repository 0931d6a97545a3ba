//! The identity of an alert.
//!
//! Two signals are the same alert exactly when their fingerprints are equal,
//! so the fingerprint must never change between releases (stored alerts would
//! all look new and page again): the golden values in
//! `tests/alert_golden.rs` pin it.
//!
//! The fingerprint is the first 8 bytes (big-endian) of a SHA-256 over a
//! canonical encoding:
//!
//! * a label set: the pairs sorted by name (then value), each written as
//!   `name 0xFF value 0xFF`. 0xFF never occurs in UTF-8, so no two different
//!   label sets encode to the same bytes (`{a="b\xffc"}` cannot exist);
//! * a dedup key: `0xFE key`. A label encoding starts with a name character
//!   (or is empty), never with 0xFE, so a dedup key can never collide with a
//!   label set.
//!
//! SHA-256 rather than a fast non-cryptographic hash because the inputs come
//! from outside: nobody should be able to craft two alerts that merge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::Labels;

const PAIR_SEPARATOR: u8 = 0xFF;
const DEDUP_KEY_TAG: u8 = 0xFE;

/// A 64-bit alert identity, shown and serialized as 16 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// The fingerprint of a label set.
    pub fn of_labels(labels: &Labels) -> Fingerprint {
        // A BTreeMap already iterates sorted by name with unique names.
        let mut hasher = Sha256::new();
        for (name, value) in labels {
            hasher.update(name.as_bytes());
            hasher.update([PAIR_SEPARATOR]);
            hasher.update(value.as_bytes());
            hasher.update([PAIR_SEPARATOR]);
        }
        Self::finish(hasher)
    }

    /// The fingerprint of label pairs given in any order; equal to
    /// [`Fingerprint::of_labels`] of the same set. Exact duplicate pairs count
    /// once; a name given twice with two values is not a label set, and both
    /// pairs are hashed (sorted), so it still gets a stable fingerprint.
    pub fn of_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Fingerprint {
        let mut sorted: Vec<(&str, &str)> = pairs.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut hasher = Sha256::new();
        for (name, value) in sorted {
            hasher.update(name.as_bytes());
            hasher.update([PAIR_SEPARATOR]);
            hasher.update(value.as_bytes());
            hasher.update([PAIR_SEPARATOR]);
        }
        Self::finish(hasher)
    }

    /// The fingerprint of a sender-given dedup key.
    pub fn of_dedup_key(key: &str) -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update([DEDUP_KEY_TAG]);
        hasher.update(key.as_bytes());
        Self::finish(hasher)
    }

    fn finish(hasher: Sha256) -> Fingerprint {
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Fingerprint(u64::from_be_bytes(first))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// Exactly 16 hex digits (either case), as [`Display`](fmt::Display)
    /// writes them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{s:?} is not a fingerprint (16 hex digits)"));
        }
        u64::from_str_radix(s, 16)
            .map(Fingerprint)
            .map_err(|e| format!("{s:?} is not a fingerprint: {e}"))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parse_round_trip() {
        for v in [0u64, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
            let f = Fingerprint(v);
            assert_eq!(f.to_string().len(), 16);
            assert_eq!(f.to_string().parse::<Fingerprint>(), Ok(f));
        }
        assert!("123".parse::<Fingerprint>().is_err());
        assert!("+123456789abcdef".parse::<Fingerprint>().is_err());
    }

    #[test]
    fn separator_makes_concatenations_differ() {
        let a = Fingerprint::of_pairs([("ab", "c")]);
        let b = Fingerprint::of_pairs([("a", "bc")]);
        assert_ne!(a, b);
    }

    #[test]
    fn dedup_key_never_equals_a_label_set() {
        assert_ne!(
            Fingerprint::of_dedup_key(""),
            Fingerprint::of_labels(&Labels::new())
        );
    }
}
