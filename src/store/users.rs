//! Organization users and their roles.

use async_trait::async_trait;

/// Managing the users of an organization.
#[async_trait]
pub trait UserStore: Send + Sync {}
