//! ITIL priority: impact x urgency -> P1..P5.

use serde::{Deserialize, Serialize};

/// How much of the business is affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    High,
    Medium,
    Low,
}

/// How quickly the business needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    High,
    Medium,
    Low,
}

/// P1 is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
    P5,
}

impl Impact {
    pub const ALL: [Impact; 3] = [Impact::High, Impact::Medium, Impact::Low];
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::High => "high",
            Impact::Medium => "medium",
            Impact::Low => "low",
        }
    }
    fn weight(self) -> u8 {
        match self {
            Impact::High => 0,
            Impact::Medium => 1,
            Impact::Low => 2,
        }
    }
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::High, Urgency::Medium, Urgency::Low];
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Medium => "medium",
            Urgency::Low => "low",
        }
    }
    fn weight(self) -> u8 {
        match self {
            Urgency::High => 0,
            Urgency::Medium => 1,
            Urgency::Low => 2,
        }
    }
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::P1,
        Priority::P2,
        Priority::P3,
        Priority::P4,
        Priority::P5,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
            Priority::P5 => "P5",
        }
    }
    /// 1 for P1 .. 5 for P5; stored as a number so sorting by priority is an index scan.
    pub fn rank(self) -> i64 {
        self as i64 + 1
    }
    pub fn from_rank(rank: i64) -> Option<Priority> {
        Priority::ALL.get(usize::try_from(rank - 1).ok()?).copied()
    }
}

/// The ITIL matrix: the priority is one plus the sum of the two "distances
/// from high". High/high = P1; high/medium and medium/high = P2; high/low,
/// medium/medium and low/high = P3; medium/low and low/medium = P4; low/low = P5.
pub fn priority_from(impact: Impact, urgency: Urgency) -> Priority {
    Priority::ALL[usize::from(impact.weight() + urgency.weight())]
}

str_names!(Impact, "impact");
str_names!(Urgency, "urgency");
str_names!(Priority, "priority");

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole matrix, spelled out as the ITIL table reads.
    #[test]
    fn priority_matrix_is_exhaustive_and_matches_itil() {
        use Impact as I;
        use Priority::*;
        use Urgency as U;
        let table = [
            (I::High, U::High, P1),
            (I::High, U::Medium, P2),
            (I::Medium, U::High, P2),
            (I::High, U::Low, P3),
            (I::Medium, U::Medium, P3),
            (I::Low, U::High, P3),
            (I::Medium, U::Low, P4),
            (I::Low, U::Medium, P4),
            (I::Low, U::Low, P5),
        ];
        assert_eq!(table.len(), Impact::ALL.len() * Urgency::ALL.len());
        for (impact, urgency, expected) in table {
            assert_eq!(
                priority_from(impact, urgency),
                expected,
                "{impact}/{urgency}"
            );
        }
    }

    #[test]
    fn rank_round_trips() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), Some(p));
        }
        assert_eq!(Priority::from_rank(0), None);
        assert_eq!(Priority::from_rank(6), None);
    }

    #[test]
    fn parse_errors_list_valid_values() {
        let err = "urgent".parse::<Urgency>().unwrap_err();
        assert!(err.contains("high, medium, low"), "{err}");
    }
}
