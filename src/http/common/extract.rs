//! Extractors whose rejections are [`ApiError`]s: a JSON body, an id from the path, and the
//! authenticated caller.

use super::error::ApiError;
use crate::auth::SessionSecret;
use crate::clock::now_ms;
use crate::domain::{Id, SessionId, UserId, WorkspaceId};
use crate::http::bodies::errors::ErrorCode;
use crate::http::AppState;
use crate::store::{Actor, SessionClaim, SessionMfa, User};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;

/// A JSON request body. An empty body (the official client sends none when it has nothing to
/// say) reads as `{}`, so a missing field gets its own clear message from the handler.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_content = is_json_content_type(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large()
            } else {
                ApiError::bad_request(ErrorCode::InvalidBody, "Could not read the request body")
            }
        })?;
        let empty = bytes.iter().all(u8::is_ascii_whitespace);
        if !empty && !json_content {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Content-Type must be application/json",
            ));
        }
        let bytes: &[u8] = if empty { b"{}" } else { &bytes };
        // serde would also read a struct from an array (`["a@b.c","pw"]`); bodies are objects.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{')
            && serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
        {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidBody,
                "Request body must be a JSON object",
            ));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let invalid_json =
            || ApiError::bad_request(ErrorCode::InvalidJson, "Request body is not valid JSON");
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                invalid_json()
            } else {
                ApiError::invalid_field(format!("Invalid value for field '{path}'"))
            }
        })?;
        deserializer.end().map_err(|_| invalid_json())?;
        Ok(JsonBody(value))
    }
}

/// `application/json` or any `application/*+json`, parameters (`; charset=utf-8`) ignored.
fn is_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// An id from the path (`Path<PathId>`, or a tuple of them). It never rejects: a segment that is
/// not a UUID names nothing, so it reads as "no such id" and the route answers its own 404 at the
/// point of its documented check order where it looks the id up (after the token, and after the
/// body where the body comes first).
#[derive(Debug, Clone, Copy)]
pub struct PathId<T>(Option<T>);

impl<T: Id> PathId<T> {
    /// The id, or `not_found` when the segment was not a UUID.
    pub fn or(self, not_found: fn() -> ApiError) -> Result<T, ApiError> {
        self.0.ok_or_else(not_found)
    }

    /// The id, if the segment was a UUID.
    pub fn id(self) -> Option<T> {
        self.0
    }
}

impl<'de, T: Id> Deserialize<'de> for PathId<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(PathId(T::parse(&raw)))
    }
}

/// The path of `/workspace/{id}` and the routes below it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkspacePath {
    /// Workspace id
    #[param(value_type = Uuid)]
    pub id: PathId<WorkspaceId>,
}

/// The path of the routes about one user (`/user/{userId}`, `/organization/users/{userId}`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[serde(rename_all = "camelCase")]
pub struct UserPath {
    /// A user of the caller's organization
    #[param(value_type = Uuid)]
    pub user_id: PathId<UserId>,
}

/// The path of `/workspace/{id}/users/{userId}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[serde(rename_all = "camelCase")]
pub struct MemberPath {
    /// Workspace id
    #[param(value_type = Uuid)]
    pub id: PathId<WorkspaceId>,
    /// The member's user id
    #[param(value_type = Uuid)]
    pub user_id: PathId<UserId>,
}

/// A well-signed, unexpired access token (or 401), whose session is not checked yet. The hot
/// routes hand its [`SessionClaim`] to a store method that checks the session in the statement
/// doing the request's work (one round trip to the database instead of two); everything else
/// takes [`AuthUser`].
pub struct Bearer {
    pub claim: SessionClaim,
    /// The session's secret the token carries (its hash is `claim.session_id`).
    secret: SessionSecret,
}

impl Bearer {
    /// The caller, checked now: for a request that fails before reaching its own query, so that
    /// a dead session still answers 401, and a pending one 403 `MFA_REQUIRED`, before any other
    /// error (the documented check order).
    pub async fn authenticate(&self, state: &AppState) -> Result<AuthUser, ApiError> {
        self.authenticate_any(state).await?.full_access()
    }

    /// Why the statement that checked this token's session with the request's work found no
    /// live, full-access session: 401, or 403 `MFA_REQUIRED` for a pending session. Only on that
    /// failure path, so a request with a good session makes one round trip.
    pub async fn not_live(&self, state: &AppState) -> ApiError {
        match self.authenticate(state).await {
            Ok(_) => ApiError::unauthorized(),
            Err(error) => error,
        }
    }

    /// The caller, whether or not their session still waits for its second factor.
    async fn authenticate_any(&self, state: &AppState) -> Result<AuthUser, ApiError> {
        let caller = state
            .store
            .authenticate(self.claim.session_id, self.claim.user_id, self.claim.now)
            .await
            .map_err(|error| ApiError::internal("Internal server error", error))?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(AuthUser {
            user: caller.user,
            session_id: self.claim.session_id,
            session_created_at: caller.session_created_at,
            mfa: caller.mfa,
        })
    }

    /// `error`, unless the session is dead, which answers 401 first.
    pub async fn or_unauthorized(&self, state: &AppState, error: ApiError) -> ApiError {
        match self.authenticate(state).await {
            Ok(_) => error,
            Err(first) => first,
        }
    }
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .ok_or_else(ApiError::unauthorized)?;
        let claims = state
            .keys
            .verify(token.trim())
            .ok_or_else(ApiError::unauthorized)?;
        // The claim carries the session's secret; the store sees only its hash, the stored id.
        let session = SessionSecret::from_claim(&claims.sid).ok_or_else(ApiError::unauthorized)?;
        Ok(Bearer {
            claim: SessionClaim {
                session_id: session.id(),
                user_id: claims.user_id,
                org_id: claims.org_id,
                now: now_ms(),
            },
            secret: session,
        })
    }
}

/// The caller of a protected route: a valid access JWT whose session and user are live in the
/// database at this moment (so logout and revocation take effect at once). As an extractor, it
/// refuses a session pending its second factor (403 `MFA_REQUIRED`); the few routes a pending
/// session may call take [`AnySession`] instead.
pub struct AuthUser {
    pub user: User,
    pub session_id: SessionId,
    /// When the caller's session began (its login), Unix ms: a password change from an older
    /// session must prove the current password.
    pub session_created_at: i64,
    pub mfa: SessionMfa,
}

impl AuthUser {
    /// The caller, unless their session is pending its second factor.
    fn full_access(self) -> Result<AuthUser, ApiError> {
        if self.mfa.pending {
            Err(ApiError::mfa_required())
        } else {
            Ok(self)
        }
    }

    /// Writes need a verified, non-deleted account.
    pub fn require_validated(&self) -> Result<(), ApiError> {
        if self.user.validated && self.user.deleted_at.is_none() {
            Ok(())
        } else {
            Err(ApiError::not_validated())
        }
    }

    /// The caller as the author of a change made now (what its audit event records).
    pub fn actor(&self) -> Actor {
        Actor {
            org_id: self.user.org_id,
            user_id: self.user.id,
            at: now_ms(),
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Bearer::from_request_parts(parts, state)
            .await?
            .authenticate(state)
            .await
    }
}

/// The caller of a route on the pending-session allow-list (contract section 8: the profile,
/// MFA status and methods, sending a magic link, `verify-login`, and enrolling while no method
/// is enabled): their session may still wait for its second factor (`mfa.pending`).
/// With the session's secret, for `verify-login`'s new tokens.
pub struct AnySession(pub AuthUser, pub SessionSecret);

impl FromRequestParts<AppState> for AnySession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = Bearer::from_request_parts(parts, state).await?;
        let caller = bearer.authenticate_any(state).await?;
        Ok(AnySession(caller, bearer.secret))
    }
}
