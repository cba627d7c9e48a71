//! What a system event is about and what happened (contract section 7): indices on the way in
//! (filters, the database) and strings on the way out (the event JSON).

/// What an event is about. Every index of the contract is a valid filter; this service emits only
/// `workspace`, `user`, `org`, `workspaceuser`, `usersettings` and `orgsettings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventContext {
    Workspace,
    Bucket,
    Repo,
    User,
    Org,
    WorkspaceUser,
    ApiKey,
    UserSettings,
    OrgSettings,
    FlashbackNode,
    OrgKey,
    AiLlm,
    AiLlmApiKey,
    Conversation,
}

/// Every context, at its index.
const CONTEXTS: [(EventContext, &str); 14] = [
    (EventContext::Workspace, "workspace"),
    (EventContext::Bucket, "bucket"),
    (EventContext::Repo, "repo"),
    (EventContext::User, "user"),
    (EventContext::Org, "org"),
    (EventContext::WorkspaceUser, "workspaceuser"),
    (EventContext::ApiKey, "apikey"),
    (EventContext::UserSettings, "usersettings"),
    (EventContext::OrgSettings, "orgsettings"),
    (EventContext::FlashbackNode, "flashbacknode"),
    (EventContext::OrgKey, "orgkey"),
    (EventContext::AiLlm, "aillm"),
    (EventContext::AiLlmApiKey, "aillmapikey"),
    (EventContext::Conversation, "conversation"),
];

impl EventContext {
    /// The context of a filter or a stored row; None outside 0..=13.
    pub fn from_index(index: i64) -> Option<EventContext> {
        let at = usize::try_from(index).ok()?;
        CONTEXTS.get(at).map(|(context, _)| *context)
    }

    /// Its index, as stored and as filters give it.
    pub fn index(self) -> i16 {
        let at = CONTEXTS
            .iter()
            .position(|(context, _)| *context == self)
            .unwrap_or_default();
        at as i16
    }

    /// Its name on the wire (`"workspace"`, `"workspaceuser"`, ...).
    pub fn as_str(self) -> &'static str {
        CONTEXTS[self.index() as usize].1
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
}

impl EventKind {
    /// The event of a filter or a stored row; None outside 0..=2.
    pub fn from_index(index: i64) -> Option<EventKind> {
        match index {
            0 => Some(EventKind::Created),
            1 => Some(EventKind::Updated),
            2 => Some(EventKind::Deleted),
            _ => None,
        }
    }

    pub fn index(self) -> i16 {
        match self {
            EventKind::Created => 0,
            EventKind::Updated => 1,
            EventKind::Deleted => 2,
        }
    }

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Deleted => "deleted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{EventContext, EventKind};

    #[test]
    fn indices_and_names_are_the_contracts() {
        let named = [
            (0, "workspace"),
            (3, "user"),
            (4, "org"),
            (5, "workspaceuser"),
            (7, "usersettings"),
            (8, "orgsettings"),
            (13, "conversation"),
        ];
        for (index, name) in named {
            let context = EventContext::from_index(index).unwrap();
            assert_eq!(
                (i64::from(context.index()), context.as_str()),
                (index, name)
            );
        }
        for index in 0..=13 {
            let context = EventContext::from_index(index).unwrap();
            assert_eq!(i64::from(context.index()), index);
        }
        assert_eq!(EventContext::from_index(14), None);
        assert_eq!(EventContext::from_index(-1), None);
        for (index, name) in [(0, "created"), (1, "updated"), (2, "deleted")] {
            let event = EventKind::from_index(index).unwrap();
            assert_eq!((i64::from(event.index()), event.as_str()), (index, name));
        }
        assert_eq!(EventKind::from_index(3), None);
    }
}
