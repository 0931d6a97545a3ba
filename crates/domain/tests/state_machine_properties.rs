//! Property tests: random sequences of steps against every kind's state
//! machine keep its invariants.

use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::ticket::{ChangeOutcome, OnHoldReason};
use opsdesk_domain::transition::{ReopenPolicy, TicketFacts, allowed, edges, plan, states};
use opsdesk_domain::{TicketKind, TicketState, Transition, TransitionError};
use proptest::prelude::*;
use std::collections::{HashSet, VecDeque};

/// A well-formed request for every action, so refusals come from the state
/// machine and not from missing data.
fn any_step() -> impl Strategy<Value = Transition> {
    prop_oneof![
        Just(Transition::Acknowledge {}),
        Just(Transition::Start {}),
        prop_oneof![
            Just(OnHoldReason::AwaitingCustomer),
            Just(OnHoldReason::AwaitingVendor),
            Just(OnHoldReason::AwaitingChange)
        ]
        .prop_map(|reason| Transition::Hold { reason }),
        Just(Transition::Resume {}),
        Just(Transition::Resolve {
            resolution_code: "fixed".into(),
            resolution_note: "done".into()
        }),
        Just(Transition::Reopen { reason: None }),
        Just(Transition::Close { outcome: None }),
        prop_oneof![
            Just(ChangeOutcome::Successful),
            Just(ChangeOutcome::Failed),
            Just(ChangeOutcome::RolledBack)
        ]
        .prop_map(|o| Transition::Close { outcome: Some(o) }),
        Just(Transition::SubmitForApproval {}),
        Just(Transition::Approve { note: None }),
        Just(Transition::Reject {
            note: "no budget".into()
        }),
        Just(Transition::Fulfill {
            resolution_note: "delivered".into()
        }),
        Just(Transition::Cancel {
            reason: "not needed".into()
        }),
        Just(Transition::Investigate {}),
        Just(Transition::RecordKnownError {
            workaround: "restart it".into()
        }),
        Just(Transition::SubmitForAssessment {}),
        Just(Transition::RequestApproval {}),
        Just(Transition::Implement {}),
        Just(Transition::CompleteImplementation {}),
    ]
}

fn any_kind() -> impl Strategy<Value = TicketKind> {
    prop_oneof![
        Just(TicketKind::Incident),
        Just(TicketKind::ServiceRequest),
        Just(TicketKind::Problem),
        Just(TicketKind::Change)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_walks_keep_the_invariants(
        kind in any_kind(),
        steps in proptest::collection::vec((any_step(), 0i64..200_000), 1..60),
    ) {
        let policy = ReopenPolicy { window: SignedDuration::from_hours(24) };
        let mut now: Timestamp = "2026-03-28T12:00:00Z".parse().unwrap();
        let mut state = kind.initial_state();
        let mut resolved_at = None;
        let mut reopen_count = 0u32;
        let kind_states = states(kind);
        for (step, seconds_later) in steps {
            now = now.checked_add(SignedDuration::from_secs(seconds_later)).unwrap();
            let facts = TicketFacts { kind, state, resolved_at };
            let legal_now = allowed(kind, state);
            match plan(facts, &step, now, policy) {
                Ok(p) => {
                    // Only legal edges move a ticket.
                    prop_assert!(edges(kind).contains(&(state, p.name, p.to)));
                    prop_assert!(legal_now.contains(&p.name));
                    prop_assert!(!state.is_terminal(), "left terminal state {state}");
                    // Only a reopen counts as one.
                    prop_assert_eq!(p.reopens, p.name == opsdesk_domain::TransitionName::Reopen);
                    if p.reopens {
                        reopen_count += 1;
                        resolved_at = None;
                    }
                    if matches!(p.to, TicketState::Resolved | TicketState::Fulfilled) {
                        resolved_at = Some(now);
                    }
                    state = p.to;
                    prop_assert!(kind_states.contains(&state));
                }
                Err(TransitionError::Illegal { allowed: listed, .. }) => {
                    prop_assert_eq!(&listed, &legal_now);
                    prop_assert!(!legal_now.contains(&step.name()));
                }
                Err(TransitionError::ReopenWindowClosed { closed_at }) => {
                    prop_assert!(now >= closed_at);
                    prop_assert_eq!(step.name(), opsdesk_domain::TransitionName::Reopen);
                }
                Err(TransitionError::Invalid(f)) => {
                    // Only the outcome rule can refuse well-formed data.
                    prop_assert_eq!(f.field.as_str(), "outcome");
                }
            }
        }
        prop_assert!(reopen_count <= 60);
    }
}

#[test]
fn every_state_of_a_kind_is_reachable_from_its_start() {
    for kind in TicketKind::ALL {
        let mut seen = HashSet::from([kind.initial_state()]);
        let mut queue = VecDeque::from([kind.initial_state()]);
        while let Some(s) = queue.pop_front() {
            for &(from, _, to) in edges(kind) {
                if from == s && seen.insert(to) {
                    queue.push_back(to);
                }
            }
        }
        let all: HashSet<_> = states(kind).into_iter().collect();
        assert_eq!(seen, all, "{kind}");
    }
}

#[test]
fn every_kind_can_reach_a_terminal_state_from_every_state() {
    for kind in TicketKind::ALL {
        for start in states(kind) {
            let mut seen = HashSet::from([start]);
            let mut queue = VecDeque::from([start]);
            let mut terminal = start.is_terminal();
            while let Some(s) = queue.pop_front() {
                for &(from, _, to) in edges(kind) {
                    if from == s && seen.insert(to) {
                        terminal |= to.is_terminal();
                        queue.push_back(to);
                    }
                }
            }
            assert!(terminal, "{kind}: {start} can never be closed");
        }
    }
}
