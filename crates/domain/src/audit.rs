//! The hash chain that makes the event log tamper-evident.
//!
//! Each event's hash covers its own fields and the previous event's hash, so
//! editing, deleting or reordering any row breaks every link after it. The
//! store also keeps the head (last seq and hash) apart from the rows, which
//! catches deleting the newest events, the one thing a chain alone cannot see.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an event that the hash covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainedEvent<'a> {
    pub seq: i64,
    /// UTC epoch microseconds.
    pub at: i64,
    pub actor: Option<i64>,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub kind: &'a str,
    /// The event's JSON data exactly as stored.
    pub data: &'a str,
}

/// SHA-256 over the previous hash and the length-prefixed fields, as hex.
/// Length prefixes make the encoding unambiguous: no two different events
/// serialise to the same bytes.
pub fn chain_hash(prev_hash: &str, event: &ChainedEvent<'_>) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(&event.seq.to_be_bytes());
    field(&event.at.to_be_bytes());
    match event.actor {
        Some(actor) => field(&actor.to_be_bytes()),
        None => field(b""),
    }
    field(event.entity.as_bytes());
    field(event.entity_id.as_bytes());
    field(event.kind.as_bytes());
    field(event.data.as_bytes());
    hex::encode(h.finalize())
}

/// Where and why the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error(
        "event {seq}: expected sequence number {expected}; events before it were deleted or reordered"
    )]
    SequenceGap { seq: i64, expected: i64 },
    #[error("event {seq}: its prev_hash does not match event {}'s hash; an earlier event was changed or deleted", .seq - 1)]
    BrokenLink { seq: i64 },
    #[error("event {seq}: its contents do not match its hash; the row was edited")]
    Tampered { seq: i64 },
    #[error(
        "the log ends at event {last_seq} but the chain head records event {head_seq}; the newest events were deleted"
    )]
    Truncated { last_seq: i64, head_seq: i64 },
}

impl ChainBreak {
    /// The first event the break was noticed at.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::SequenceGap { seq, .. }
            | ChainBreak::BrokenLink { seq }
            | ChainBreak::Tampered { seq } => *seq,
            ChainBreak::Truncated { last_seq, .. } => last_seq + 1,
        }
    }
}

/// Checks events one at a time in sequence order, so a log of millions of
/// rows is verified while streaming it.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: String,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            checked: 0,
        }
    }
}

impl ChainVerifier {
    pub fn check(
        &mut self,
        event: &ChainedEvent<'_>,
        prev_hash: &str,
        hash: &str,
    ) -> Result<(), ChainBreak> {
        if event.seq != self.next_seq {
            return Err(ChainBreak::SequenceGap {
                seq: event.seq,
                expected: self.next_seq,
            });
        }
        if prev_hash != self.prev_hash {
            return Err(ChainBreak::BrokenLink { seq: event.seq });
        }
        if chain_hash(prev_hash, event) != hash {
            return Err(ChainBreak::Tampered { seq: event.seq });
        }
        self.next_seq += 1;
        self.prev_hash = hash.to_string();
        self.checked += 1;
        Ok(())
    }

    /// Compares the end of the log with the separately kept head.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<u64, ChainBreak> {
        let last_seq = self.next_seq - 1;
        if last_seq != head_seq {
            return Err(ChainBreak::Truncated { last_seq, head_seq });
        }
        if head_seq > 0 && head_hash != self.prev_hash {
            return Err(ChainBreak::Tampered { seq: head_seq });
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        seq: i64,
        data: String,
        prev: String,
        hash: String,
    }

    fn event(row: &Row) -> ChainedEvent<'_> {
        ChainedEvent {
            seq: row.seq,
            at: 1_700_000_000_000_000 + row.seq,
            actor: Some(7),
            entity: "ticket",
            entity_id: "1",
            kind: "ticket.updated",
            data: &row.data,
        }
    }

    fn chain(n: i64) -> Vec<Row> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut row = Row {
                    seq,
                    data: format!("{{\"n\":{seq}}}"),
                    prev: prev.clone(),
                    hash: String::new(),
                };
                row.hash = chain_hash(&prev, &event(&row));
                prev = row.hash.clone();
                row
            })
            .collect()
    }

    fn verify(rows: &[Row], head: (i64, &str)) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::default();
        for row in rows {
            v.check(&event(row), &row.prev, &row.hash)?;
        }
        v.finish(head.0, head.1)
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        let head = rows[4].hash.clone();
        assert_eq!(verify(&rows, (5, &head)), Ok(5));
        assert_eq!(verify(&[], (0, GENESIS_HASH)), Ok(0));
    }

    #[test]
    fn each_kind_of_tampering_names_the_first_broken_event() {
        let rows = chain(5);
        let head = rows[4].hash.clone();

        let mut edited = chain(5);
        edited[2].data = "{\"n\":999}".into();
        assert_eq!(
            verify(&edited, (5, &head)),
            Err(ChainBreak::Tampered { seq: 3 })
        );

        let mut deleted = chain(5);
        deleted.remove(1);
        assert_eq!(
            verify(&deleted, (5, &head)),
            Err(ChainBreak::SequenceGap {
                seq: 3,
                expected: 2
            })
        );

        let mut rehashed = chain(5);
        rehashed[1].data = "{\"n\":0}".into();
        rehashed[1].hash = chain_hash(&rehashed[1].prev.clone(), &event(&rehashed[1]));
        assert_eq!(
            verify(&rehashed, (5, &head)),
            Err(ChainBreak::BrokenLink { seq: 3 })
        );

        let truncated: Vec<Row> = chain(5).into_iter().take(3).collect();
        assert_eq!(
            verify(&truncated, (5, &head)),
            Err(ChainBreak::Truncated {
                last_seq: 3,
                head_seq: 5
            })
        );
        let _ = rows;
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let a = ChainedEvent {
            seq: 1,
            at: 0,
            actor: None,
            entity: "ab",
            entity_id: "c",
            kind: "k",
            data: "{}",
        };
        let b = ChainedEvent {
            entity: "a",
            entity_id: "bc",
            ..a
        };
        assert_ne!(chain_hash(GENESIS_HASH, &a), chain_hash(GENESIS_HASH, &b));
    }
}
