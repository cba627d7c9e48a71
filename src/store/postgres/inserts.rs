//! Inserts used inside several transactions. Macros, so that they serve any executor (a pool or
//! a transaction) without naming its type.

/// Inserts a [`NewUser`]; a taken e-mail becomes [`StoreError::Conflict`].
macro_rules! insert_user {
    ($executor:expr, $user:expr) => {
        sqlx::query(queries::INSERT_USER)
            .bind($user.id)
            .bind($user.org_id)
            .bind(&$user.email)
            .bind(&$user.email_key)
            .bind(&$user.password_hash)
            .bind(&$user.first_name)
            .bind(&$user.last_name)
            .bind($user.org_role)
            .bind(false)
            .bind($user.created_at)
            .execute($executor)
            .await
            .map_err(classify)?
    };
}

/// Inserts a [`NewSession`] with its first [`NewRefreshToken`].
macro_rules! insert_session {
    ($executor:expr, $session:expr, $refresh:expr) => {
        sqlx::query(queries::INSERT_SESSION)
            .bind($session.id)
            .bind($session.user_id)
            .bind($session.created_at)
            .bind($session.expires_at)
            .execute($executor)
            .await?;
        sqlx::query(queries::INSERT_REFRESH_TOKEN)
            .bind(&$refresh.token_hash)
            .bind($refresh.session_id)
            .bind($refresh.created_at)
            .bind($refresh.expires_at)
            .execute($executor)
            .await?;
    };
}

/// Inserts a [`NewVerification`].
macro_rules! insert_verification {
    ($executor:expr, $v:expr) => {
        sqlx::query(queries::INSERT_VERIFICATION)
            .bind($v.id)
            .bind($v.user_id)
            .bind(&$v.token_hash)
            .bind($v.created_at)
            .bind($v.expires_at)
            .execute($executor)
            .await?
    };
}
