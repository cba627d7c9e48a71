//! [`UserStore`] in SQL, for both backends.

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};

use super::SqlStore;
use crate::store::UserStore;

macro_rules! impl_user_store {
    ($db:ty) => {
        #[async_trait]
        impl UserStore for SqlStore<$db> {}
    };
}

impl_user_store!(Sqlite);
impl_user_store!(Postgres);
