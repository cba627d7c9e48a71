//! [`OrganizationStore`] in SQL, for both backends.

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};

use super::SqlStore;
use crate::store::OrganizationStore;

macro_rules! impl_organization_store {
    ($db:ty) => {
        #[async_trait]
        impl OrganizationStore for SqlStore<$db> {}
    };
}

impl_organization_store!(Sqlite);
impl_organization_store!(Postgres);
