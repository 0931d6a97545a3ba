//! Automatic assignment within a team.

/// Round-robin: the first member after `last` in `members` order, wrapping
/// around; the first member when `last` is unknown or has left the team.
pub fn next_in_rotation<T: Copy + Ord>(members: &[T], last: Option<T>) -> Option<T> {
    let first = members.first().copied()?;
    let Some(last) = last else { return Some(first) };
    Some(members.iter().copied().find(|&m| m > last).unwrap_or(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rotation_golden_cases() {
        let cases: &[(&[i64], Option<i64>, Option<i64>)] = &[
            (&[], None, None),
            (&[], Some(3), None),
            (&[4], None, Some(4)),
            (&[4], Some(4), Some(4)),
            (&[2, 5, 9], None, Some(2)),
            (&[2, 5, 9], Some(2), Some(5)),
            (&[2, 5, 9], Some(9), Some(2)),
            (&[2, 5, 9], Some(6), Some(9)), // last one left the team
        ];
        for &(members, last, expected) in cases {
            assert_eq!(
                next_in_rotation(members, last),
                expected,
                "{members:?} after {last:?}"
            );
        }
    }

    proptest! {
        /// Over one full lap every member gets exactly one ticket.
        #[test]
        fn a_lap_visits_every_member_once(mut members in proptest::collection::btree_set(0i64..1000, 1..20)) {
            let members: Vec<i64> = std::mem::take(&mut members).into_iter().collect();
            let mut last = None;
            let mut seen = Vec::new();
            for _ in 0..members.len() {
                let next = next_in_rotation(&members, last).unwrap();
                seen.push(next);
                last = Some(next);
            }
            prop_assert_eq!(seen, members);
        }
    }
}
