//! docs/state-machines.md is generated from the domain's edge tables; this
//! test fails when the two disagree. Regenerate with
//! `OPSDESK_WRITE_DOCS=1 cargo test -p opsdesk-domain --test docs_in_sync`.

use opsdesk_domain::TicketKind;
use opsdesk_domain::transition::markdown_table;

fn render() -> String {
    let mut out = String::from(
        "# Ticket state machines\n\n\
         Generated from `crates/domain/src/transition.rs` (a test keeps this file in sync).\n\
         Each row is one legal step: `POST /api/v1/tickets/{ticket}/transitions` with\n\
         `{\"action\": \"<action>\", ...required data}`, or `opsdesk ticket transition REF ACTION`.\n\
         Any other step is refused with 409 and the list of actions allowed from the current state.\n\n\
         Rules that apply to every kind:\n\n\
         - `closed` and `cancelled` are terminal: nothing leaves them and the ticket is read-only.\n\
         - `reopen` is allowed only within the reopen window after resolution (default 7 days,\n\
           `reopen_window_hours` in the config). When the window ends, the server closes the\n\
           ticket itself, stamped at the moment the window ended (also after downtime).\n\
         - Each `reopen` adds one to `reopen_count`; nothing else changes it.\n\
         - `acknowledge` records who acknowledged and when, and makes them the assignee when the\n\
           ticket has none and they may take it.\n\
         - Requesters may take only `reopen`, `close` and `cancel`, on their own tickets.\n\
         - A requester's public reply to a ticket on hold `awaiting_customer` resumes it.\n\
         - Merging a duplicate closes it from any open state (`resolution_code` = `duplicate`).\n",
    );
    for kind in TicketKind::ALL {
        out.push_str(&format!(
            "\n## {}\n\nStarts in `{}`.\n\n",
            kind.as_str(),
            kind.initial_state()
        ));
        out.push_str(&markdown_table(kind));
    }
    out
}

#[test]
fn state_machine_doc_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/state-machines.md");
    let expected = render();
    if std::env::var_os("OPSDESK_WRITE_DOCS").is_some() {
        std::fs::write(path, &expected).expect("write docs/state-machines.md");
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "docs/state-machines.md is stale; regenerate it (see this file's header)"
    );
}
