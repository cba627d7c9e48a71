//! Values parsed once at the edge, and the permission rules, as plain functions with unit tests.

mod device;
mod email;
mod events;
mod ids;
mod login_method;
mod mfa;
mod names;
mod org_role;
mod org_rules;
mod password;
mod settings;
mod text;
mod webhooks;
mod workspace_name;
mod workspace_role;

pub use device::{SeenDevice, TrustLevel};
pub use email::{email_key, Email};
pub use events::{EventContext, EventKind};
pub use ids::{DeviceId, Id, OrgId, PasskeyId, SessionId, UserId, WorkspaceId};
pub use login_method::LoginMethod;
pub use mfa::{MfaMethod, MAX_PASSKEYS_PER_USER};
pub use names::PersonName;
pub use org_role::OrgRole;
pub use org_rules::{can_grant, can_manage_user, can_manage_users, check_user_change, RoleDenied};
pub use password::{Password, PasswordError};
pub use settings::{
    AppliedSettings, ChangedPaths, Settings, SettingsChange, SettingsRefusal, SettingsScope,
    MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH,
};
pub use text::{has_refused_chars, no_refused_pattern, non_blank_no_refused_pattern};
pub use webhooks::{
    can_manage_webhooks, check_url, event_type, is_forbidden_ip, retry_delay_ms, selects,
    EventPattern, UrlRefusal, FAILING_DISABLE_MS, MAX_EVENT_PATTERNS, MAX_WEBHOOKS_PER_ORG,
    MAX_WEBHOOK_URL_CHARS,
};
pub use workspace_name::{WorkspaceName, WorkspaceNameError};
pub use workspace_role::{can_manage_workspace, effective_workspace_role, WorkspaceRole};
