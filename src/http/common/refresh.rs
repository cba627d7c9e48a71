//! Refreshing a session: `POST /user/refresh` and the identity providers' refresh routes
//! (`POST /auth/{google,github,microsoft}/refresh`), which refresh our session just the same.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::credentials::{self, TokenSubject, REFRESH_TOKEN_TTL_MS};
use super::error::{ApiError, OrInternal};
use super::throttle::AccountKey;
use crate::auth::{hash_token, SessionSecret};
use crate::clock::now_ms;
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::ErrorCode;
use crate::http::bodies::fields as schema;
use crate::http::bodies::sessions::IssuedTokens;
use crate::http::AppState;
use crate::store::RefreshOutcome;

/// The official client sends `refresh_token`; the reference documents `refreshToken`.
#[derive(Deserialize)]
pub struct RefreshBody {
    refresh_token: Option<String>,
    #[serde(rename = "refreshToken")]
    refresh_token_camel: Option<String>,
}

/// `refresh_token`, or else `refreshToken`: the first of the two that is not null is used, and
/// must be a non-blank string.
impl PartialSchema for RefreshBody {
    fn schema() -> RefOr<Schema> {
        let string_or_null =
            || ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]));
        let snake_case = ObjectBuilder::new()
            .property("refresh_token", schema::non_blank())
            .property("refreshToken", string_or_null())
            .required("refresh_token");
        let camel_case = ObjectBuilder::new()
            .property(
                "refresh_token",
                ObjectBuilder::new().schema_type(Type::Null),
            )
            .property("refreshToken", schema::non_blank())
            .required("refreshToken");
        AnyOfBuilder::new()
            .item(snake_case)
            .item(camel_case)
            .description(Some(
                "The refresh token, as `refresh_token` (the official client) or `refreshToken` \
                 (the reference); `refresh_token` wins when both are present",
            ))
            .into()
    }
}

impl ToSchema for RefreshBody {}

impl RefreshBody {
    pub fn token(&self) -> Result<&str, ApiError> {
        self.refresh_token
            .as_deref()
            .or(self.refresh_token_camel.as_deref())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::missing_field("refreshToken"))
    }
}

/// `POST /user/refresh`, 200: a new token pair (`token` repeats `accessToken`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResponse {
    success: SuccessTrue,
    /// Same as `accessToken`.
    token: String,
    access_token: String,
    refresh_token: String,
    /// When the access token expires, Unix milliseconds.
    expires_at: i64,
}

impl From<IssuedTokens> for RefreshResponse {
    fn from(tokens: IssuedTokens) -> Self {
        RefreshResponse {
            success: SuccessTrue,
            token: tokens.access_token.clone(),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at: tokens.expires_at,
        }
    }
}

/// Rotates the refresh token of `body` (`POST /user/refresh`, and the providers' refresh routes,
/// which refresh our session just the same).
pub async fn refresh_session(
    state: &AppState,
    body: RefreshBody,
) -> Result<RefreshResponse, ApiError> {
    const FAILED: &str = "Failed to refresh token";
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidRefreshToken,
            "Invalid or expired refresh token",
        )
    };
    let presented = body.token()?;
    state
        .throttle
        .check_account(AccountKey::token("refresh", presented))?;
    // The token starts with the session's secret, which the server keeps no copy of: the new
    // access token's `sid` is taken from it (the store checks the token belongs to that session).
    let session = SessionSecret::of_refresh_token(presented).ok_or_else(invalid)?;
    let now = now_ms();
    let next_plain = session.new_refresh_token();
    let (presented_hash, next_hash) = (hash_token(presented), hash_token(&next_plain));
    let rotated = state.store.rotate_refresh_token(
        &presented_hash,
        session.id(),
        &next_hash,
        now,
        now + REFRESH_TOKEN_TTL_MS,
        state.session_lifetime_ms,
    );
    match rotated.await {
        Ok(RefreshOutcome::Rotated { user, .. }) => {
            let subject = TokenSubject::of(&user, &session);
            let tokens = credentials::issue(state, subject, next_plain, now).or_500(FAILED)?;
            Ok(RefreshResponse::from(tokens))
        }
        Ok(RefreshOutcome::Reused) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::RefreshTokenReused,
            "Refresh token was already used; the session has been revoked",
        )),
        Ok(RefreshOutcome::Invalid) => Err(invalid()),
        Err(error) => Err(ApiError::internal(FAILED, error)),
    }
}
