//! Ids, one type per kind of record, so that a user id cannot be passed where an organization id
//! is expected. On the wire and in the database each is a UUID (v7 when we make it).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What every id type can do, for code generic over the kind of id (a path segment's parser).
pub trait Id: Copy {
    /// Parses the text form of a UUID; None for anything else.
    fn parse(text: &str) -> Option<Self>;
}

impl Id for Uuid {
    fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok()
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = Uuid)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id, ordered by creation time (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses the text form of a UUID; None for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                Uuid::parse_str(text).ok().map(Self)
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl Id for $name {
            fn parse(text: &str) -> Option<Self> {
                $name::parse(text)
            }
        }
    };
}

id_type!(
    /// A user (an account of an organization).
    UserId
);
id_type!(
    /// An organization.
    OrgId
);
id_type!(
    /// A workspace.
    WorkspaceId
);
id_type!(
    /// A session: what one login created; its refresh tokens and access tokens name it.
    SessionId
);
id_type!(
    /// A device a user signed in from (one per user and fingerprint).
    DeviceId
);
id_type!(
    /// A passkey (a WebAuthn credential) of a user.
    PasskeyId
);

#[cfg(test)]
mod tests {
    use super::{OrgId, UserId};

    #[test]
    fn ids_parse_uuids_only_and_print_them_back() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_string()), Some(id));
        assert_eq!(UserId::parse("not-a-uuid"), None);
        assert_eq!(
            serde_json::to_string(&OrgId::from_uuid(uuid::Uuid::nil())).unwrap(),
            "\"00000000-0000-0000-0000-000000000000\""
        );
    }
}
