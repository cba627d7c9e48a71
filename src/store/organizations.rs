//! Organizations and password resets.

use async_trait::async_trait;

/// Organization records and password-reset tokens.
#[async_trait]
pub trait OrganizationStore: Send + Sync {}
