//! Newtype ids so a `TeamId` can never be passed where a `UserId` belongs.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A person or a machine account that acts in the system.
    UserId
);
id_type!(
    /// An assignment group.
    TeamId
);
id_type!(
    /// A business or technical service that tickets are raised against.
    ServiceId
);
id_type!(
    /// Any ticket, whatever its kind.
    TicketId
);
id_type!(
    /// A public reply or internal work note on a ticket.
    CommentId
);
id_type!(
    /// An API token (the secret itself is never stored).
    TokenId
);
