//! Inserts shared by several stores (registration and organization users both create users).
//! Macros, so that the one text serves both backends' executors.

/// Inserts a [`NewUser`]; a taken e-mail becomes [`StoreError::Conflict`].
macro_rules! insert_user {
    ($executor:expr, $user:expr) => {
        sqlx::query(
            "INSERT INTO users (id, org_id, email, email_key, password_hash, first_name, \
             last_name, org_role, validated, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
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
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind($session.id)
        .bind($session.user_id)
        .bind($session.created_at)
        .bind($session.expires_at)
        .execute($executor)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
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
        sqlx::query(
            "INSERT INTO email_verifications (id, user_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind($v.id)
        .bind($v.user_id)
        .bind(&$v.token_hash)
        .bind($v.created_at)
        .bind($v.expires_at)
        .execute($executor)
        .await?
    };
}
