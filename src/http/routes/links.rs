//! Activation links (contract section 13): `GET` and `POST /links`, `GET`, `PUT` and `DELETE
//! /links/{id}`. An instance administrator (`workspaces admin grant`) invites one e-mail address
//! to register a new organization; the invitee opens `{public-url}/console/activate#uid=&token=`
//! and registers with `POST /user/activate`. `GET /links/{id}` is public: the page checks its
//! link with it. The token is an HMAC of the id (`auth::LinkKey`), never stored.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::LinkKey;
use crate::clock::{now_ms, parse_rfc3339, rfc3339};
use crate::domain::{email_key, has_refused_chars, UserId};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{BodyRejected, RateLimited, Unauthorized};
use crate::http::bodies::MessageResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, JsonBody};
use crate::http::common::fields;
use crate::http::common::throttle::AccountKey;
use crate::http::AppState;
use crate::mail;
use crate::store::{ActivationLink, LinkChange, LinkFilter, LinkPatch, LinkStatus, NewLink};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_links, create_link))
        .routes(routes!(check_link, update_link, delete_link))
}

/// The most characters of a link's description.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The most characters of a listing's `text` filter.
const MAX_TEXT_FILTER_CHARS: usize = 200;
/// A listing's page size: default and largest.
const DEFAULT_TAKE: i64 = 20;
const MAX_TAKE: i64 = 100;

/// A link's creator, as the client shows them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LinkCreator {
    email: String,
    /// First name.
    name: String,
    last_name: String,
}

/// A link's state now.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum LinkState {
    Pending,
    Activated,
    Expired,
}

/// An activation link (contract section 13).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ActivationLink)]
#[serde(rename_all = "camelCase")]
struct LinkJson {
    id: Uuid,
    #[schema(format = DateTime)]
    created_at: String,
    /// Unix milliseconds.
    expires_at: i64,
    #[schema(required = true)]
    description: Option<String>,
    email: String,
    #[schema(required = true, format = DateTime)]
    activated_at: Option<String>,
    created_by: UserId,
    creator: LinkCreator,
    status: LinkState,
    /// `{public-url}/console/activate#uid=ID&token=TOKEN`: the token in the fragment, which no
    /// browser sends to a server.
    activation_link: String,
}

impl LinkJson {
    fn new(link: ActivationLink, key: &LinkKey, public_url: Option<&str>, now: i64) -> LinkJson {
        let status = if link.activated_at.is_some() {
            LinkState::Activated
        } else if link.expires_at <= now {
            LinkState::Expired
        } else {
            LinkState::Pending
        };
        LinkJson {
            activation_link: activation_url(public_url, link.id, &key.token(link.id)),
            id: link.id,
            created_at: rfc3339(link.created_at),
            expires_at: link.expires_at,
            description: link.description,
            email: link.email,
            activated_at: link.activated_at.map(rfc3339),
            created_by: link.created_by,
            creator: LinkCreator {
                email: link.creator_email,
                name: link.creator_first_name,
                last_name: link.creator_last_name,
            },
            status,
        }
    }
}

/// The console page that takes a link (contract sections 13 and 16); a path alone when the
/// server does not know its public address.
fn activation_url(public_url: Option<&str>, id: Uuid, token: &str) -> String {
    let base = public_url.unwrap_or("").trim_end_matches('/');
    format!("{base}/console/activate#uid={id}&token={token}")
}

/// `POST /links`, `PUT /links/{id}`: 201 / 200.
#[derive(Debug, Serialize, ToSchema)]
struct LinkResponse {
    success: SuccessTrue,
    link: LinkJson,
}

fn insufficient_permissions() -> ApiError {
    ApiError::insufficient_permissions("Insufficient permissions")
}

fn link_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::LinkNotFound, "Link not found")
}

/// The caller administers this server, and it has a key to sign links with.
fn administrator<'s>(state: &'s AppState, auth: &AuthUser) -> Result<&'s LinkKey, ApiError> {
    if !auth.user.instance_admin {
        return Err(insufficient_permissions());
    }
    state.link_key.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ActivationLinksUnavailable,
            "Activation links need a key kept out of the database: start every instance with \
             --jwt-secret-file (or --jwt-secret)",
        )
    })
}

/// An optional description: trimmed, empty meaning none, at most 500 characters without
/// control characters.
fn description(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_DESCRIPTION_CHARS || has_refused_chars(text) {
        return Err(ApiError::invalid_field(
            "description must be at most 500 characters without control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// An address that has an account already cannot register through a link.
async fn address_free(state: &AppState, email: &str, failed: &'static str) -> Result<(), ApiError> {
    let taken = state
        .store
        .credentials_by_email(&email_key(email))
        .await
        .or_500(failed)?
        .is_some();
    if taken {
        return Err(fields::email_taken());
    }
    Ok(())
}

/// E-mails the link; a failed send is logged (the administrator sees the link in the answer).
async fn send_link(state: &AppState, link: &ActivationLink, key: &LinkKey) {
    let url = activation_url(state.public_url.as_deref(), link.id, &key.token(link.id));
    let days = ((link.expires_at - now_ms()) as f64 / (24.0 * 60.0 * 60.0 * 1000.0)).ceil();
    let email = mail::activation_link(
        &link.email,
        link.name.as_deref(),
        &url,
        days.max(1.0) as i64,
    );
    if let Err(error) = state.mailer.send(email).await {
        tracing::error!(%error, "sending the activation link failed");
    }
}

/// A new activation link.
#[derive(Deserialize, ToSchema)]
struct CreateLinkBody {
    /// The address the link is for: the new account's must be the same.
    #[schema(schema_with = schema::email, required = true)]
    email: Option<String>,
    /// The invitee's name, to greet them in the e-mail.
    #[schema(schema_with = schema::optional_person_name)]
    name: Option<String>,
    /// A note for the administrators (at most 500 characters).
    #[schema(max_length = 500)]
    description: Option<String>,
}

/// Create an activation link and e-mail it (instance administrators). It lives
/// `--activation-link-days` (default 7).
#[utoipa::path(
    post,
    path = "/links",
    tag = "activation links",
    security(("bearerAuth" = [])),
    request_body = CreateLinkBody,
    responses(
        (status = 201, description = "Created and e-mailed", body = LinkResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_EMAIL`, `INVALID_FIELD`, `EMAIL_ALREADY_EXISTS` (the address has an account), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions (not an instance administrator)", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to create link", body = ErrorResponse),
        (status = 503, description = "`ACTIVATION_LINKS_UNAVAILABLE`: no key outside the database", body = ErrorResponse),
    )
)]
async fn create_link(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(body): JsonBody<CreateLinkBody>,
) -> Result<(StatusCode, Json<LinkResponse>), ApiError> {
    const FAILED: &str = "Failed to create link";
    let key = administrator(&state, &auth)?;
    auth.require_validated()?;
    let email = fields::email(&body.email)?;
    let name = match body.name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => Some(fields::person_name(name, "name")?),
        _ => None,
    };
    let description = description(body.description.as_deref())?;
    address_free(&state, email.as_str(), FAILED).await?;
    let by = auth.actor();
    let link = NewLink {
        id: Uuid::now_v7(),
        email: email.as_str().to_owned(),
        name,
        description,
        expires_at: by.at.saturating_add(state.activation_link_ttl_ms),
    };
    let id = link.id;
    state.store.create_link(by, link).await.or_500(FAILED)?;
    let created = state
        .store
        .link(id)
        .await
        .or_500(FAILED)?
        .ok_or_else(|| ApiError::internal(FAILED, "a link vanished after its creation"))?;
    send_link(&state, &created, key).await;
    let link = LinkJson::new(created, key, state.public_url.as_deref(), now_ms());
    let answer = LinkResponse {
        success: SuccessTrue,
        link,
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The query of `GET /links`; every field a string, checked by hand for a 400 in our envelope.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LinksQuery {
    /// Created at or after (RFC 3339)
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// Created at or before (RFC 3339)
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
    /// Page size, 1 to 100 (default 20)
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    take: Option<String>,
    /// Links to skip (default 0)
    #[param(value_type = Option<i64>, minimum = 0)]
    skip: Option<String>,
    /// `pending`, `activated`, `expired` or `all` (default)
    status: Option<String>,
    /// Found in the e-mail address or the description, ignoring case
    text: Option<String>,
}

fn invalid_query(message: &'static str) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, message)
}

/// A query parameter given empty (`?status=`, as a client builds a query from an empty form
/// field) counts as not given.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl LinksQuery {
    fn filter(self, now: i64) -> Result<LinkFilter, ApiError> {
        let LinksQuery {
            from,
            to,
            take,
            skip,
            status,
            text,
        } = self;
        let (from, to, take, skip) = (given(from), given(to), given(take), given(skip));
        let (status, text) = (given(status), given(text));
        let time = |raw: Option<String>, message| {
            raw.map(|t| parse_rfc3339(&t).ok_or_else(|| invalid_query(message)))
                .transpose()
        };
        let from = time(from, "from must be an RFC 3339 timestamp")?;
        let to = time(to, "to must be an RFC 3339 timestamp")?;
        let take = match take {
            None => DEFAULT_TAKE,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_TAKE).contains(n))
                .ok_or_else(|| invalid_query("take must be an integer from 1 to 100"))?,
        };
        let skip = match skip {
            None => 0,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid_query("skip must be an integer of at least 0"))?,
        };
        let status = match status.as_deref() {
            None | Some("all") => LinkStatus::All,
            Some("pending") => LinkStatus::Pending,
            Some("activated") => LinkStatus::Activated,
            Some("expired") => LinkStatus::Expired,
            Some(_) => {
                return Err(invalid_query(
                    "status must be pending, activated, expired or all",
                ))
            }
        };
        let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_FILTER_CHARS)
        {
            return Err(invalid_query("text must be at most 200 characters"));
        }
        // No e-mail or description holds one (and PostgreSQL's `text` refuses a NUL).
        if text
            .as_ref()
            .is_some_and(|t| t.chars().any(char::is_control))
        {
            return Err(invalid_query("text must not contain control characters"));
        }
        Ok(LinkFilter {
            from,
            to,
            status,
            text,
            now,
            skip,
            take,
        })
    }
}

/// `GET /links`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct LinksResponse {
    success: SuccessTrue,
    links: Vec<LinkJson>,
    /// Links matching the filter in all.
    total: i64,
    skip: i64,
    take: i64,
}

/// The activation links, newest first (instance administrators).
#[utoipa::path(
    get,
    path = "/links",
    tag = "activation links",
    security(("bearerAuth" = [])),
    params(LinksQuery),
    responses(
        (status = 200, description = "A page of links", body = LinksResponse),
        (status = 400, description = "`INVALID_QUERY`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions (not an instance administrator)", body = ErrorResponse),
        (status = 500, description = "Failed to fetch links", body = ErrorResponse),
        (status = 503, description = "`ACTIVATION_LINKS_UNAVAILABLE`: no key outside the database", body = ErrorResponse),
    )
)]
async fn list_links(
    State(state): State<AppState>,
    auth: AuthUser,
    query: Result<Query<LinksQuery>, QueryRejection>,
) -> Result<Json<LinksResponse>, ApiError> {
    let key = administrator(&state, &auth)?;
    let Query(query) = query.map_err(|_| invalid_query("Invalid query string"))?;
    let now = now_ms();
    let filter = query.filter(now)?;
    let (skip, take) = (filter.skip, filter.take);
    let (links, total) = state
        .store
        .links(filter)
        .await
        .or_500("Failed to fetch links")?;
    let public_url = state.public_url.as_deref();
    let links = links
        .into_iter()
        .map(|link| LinkJson::new(link, key, public_url, now))
        .collect();
    Ok(Json(LinksResponse {
        success: SuccessTrue,
        links,
        total,
        skip,
        take,
    }))
}

/// The path of `/links/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct LinkPath {
    /// The link's id
    #[param(value_type = Uuid)]
    id: String,
}

impl LinkPath {
    fn id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.id).ok()
    }
}

/// A JSON field that may be absent (None), null or a value (`Some(None)`, `Some(Some(v))`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// What to change; at least one field.
#[derive(Deserialize, ToSchema)]
struct UpdateLinkBody {
    /// A new note; null or "" removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    description: Option<Option<String>>,
    /// A new address (the link is e-mailed to it).
    #[schema(schema_with = schema::email)]
    email: Option<String>,
}

/// Change a pending or expired link's description or address (instance administrators); a new
/// address gets the link by e-mail. An activated link does not change.
#[utoipa::path(
    put,
    path = "/links/{id}",
    tag = "activation links",
    security(("bearerAuth" = [])),
    params(LinkPath),
    request_body = UpdateLinkBody,
    responses(
        (status = 200, description = "The link as it is now", body = LinkResponse),
        (status = 400, description = "`NO_VALID_FIELDS`, `INVALID_EMAIL`, `INVALID_FIELD`, `EMAIL_ALREADY_EXISTS`, `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions (not an instance administrator)", body = ErrorResponse),
        (status = 404, description = "Link not found", body = ErrorResponse),
        (status = 409, description = "`LINK_ALREADY_ACTIVATED`", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to update link", body = ErrorResponse),
        (status = 503, description = "`ACTIVATION_LINKS_UNAVAILABLE`: no key outside the database", body = ErrorResponse),
    )
)]
async fn update_link(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<LinkPath>,
    JsonBody(body): JsonBody<UpdateLinkBody>,
) -> Result<Json<LinkResponse>, ApiError> {
    const FAILED: &str = "Failed to update link";
    let key = administrator(&state, &auth)?;
    auth.require_validated()?;
    let email = match &body.email {
        Some(_) => Some(fields::email(&body.email)?.as_str().to_owned()),
        None => None,
    };
    let description = match body.description {
        Some(raw) => Some(description(raw.as_deref())?),
        None => None,
    };
    if email.is_none() && description.is_none() {
        return Err(fields::no_valid_fields());
    }
    let id = path.id().ok_or_else(link_not_found)?;
    if let Some(email) = &email {
        address_free(&state, email, FAILED).await?;
    }
    let patch = LinkPatch { email, description };
    let link = match state
        .store
        .update_link(auth.actor(), id, patch)
        .await
        .or_500(FAILED)?
    {
        LinkChange::NotFound => return Err(link_not_found()),
        LinkChange::Activated => {
            return Err(ApiError::conflict(
                ErrorCode::LinkAlreadyActivated,
                "Link has already been activated",
            ))
        }
        LinkChange::Done(link, readdressed) => {
            if readdressed {
                send_link(&state, &link, key).await;
            }
            link
        }
    };
    let link = LinkJson::new(*link, key, state.public_url.as_deref(), now_ms());
    Ok(Json(LinkResponse {
        success: SuccessTrue,
        link,
    }))
}

/// Delete a link (instance administrators): its token opens nothing from now on.
#[utoipa::path(
    delete,
    path = "/links/{id}",
    tag = "activation links",
    security(("bearerAuth" = [])),
    params(LinkPath),
    responses(
        (status = 200, description = "Link deleted successfully", body = MessageResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions (not an instance administrator)", body = ErrorResponse),
        (status = 404, description = "Link not found", body = ErrorResponse),
        (status = 500, description = "Failed to delete link", body = ErrorResponse),
        (status = 503, description = "`ACTIVATION_LINKS_UNAVAILABLE`: no key outside the database", body = ErrorResponse),
    )
)]
async fn delete_link(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(path): Path<LinkPath>,
) -> Result<Json<MessageResponse>, ApiError> {
    administrator(&state, &auth)?;
    auth.require_validated()?;
    let id = path.id().ok_or_else(link_not_found)?;
    let deleted = state
        .store
        .delete_link(auth.actor(), id)
        .await
        .or_500("Failed to delete link")?;
    if !deleted {
        return Err(link_not_found());
    }
    Ok(Json(MessageResponse::new("Link deleted successfully")))
}

/// The token of `GET /links/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CheckQuery {
    /// The link's token (from the fragment of the e-mailed link). The `Activation-Token` header
    /// may carry it instead, so that it stays out of URLs.
    token: Option<String>,
}

/// `GET /links/{id}`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CheckResponse {
    success: SuccessTrue,
    /// The link's id.
    uuid: Uuid,
    email: String,
    /// When it was used, or null while it is pending.
    #[schema(required = true, format = DateTime)]
    activated_at: Option<String>,
}

fn not_found_or_expired() -> ApiError {
    ApiError::not_found(ErrorCode::LinkNotFound, "Link not found or expired")
}

/// Check a link before registering with it (public; never spends it). A wrong token, a deleted
/// and an expired pending link are all 404.
#[utoipa::path(
    get,
    path = "/links/{id}",
    tag = "activation links",
    params(LinkPath, CheckQuery),
    responses(
        (status = 200, description = "The link's address and whether it was used", body = CheckResponse),
        (status = 404, description = "Link not found or expired", body = ErrorResponse),
        RateLimited,
        (status = 500, description = "Failed to check link", body = ErrorResponse),
    )
)]
async fn check_link(
    State(state): State<AppState>,
    Path(path): Path<LinkPath>,
    query: Result<Query<CheckQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<CheckResponse>, ApiError> {
    let from_header = headers
        .get("activation-token")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let token = query
        .ok()
        .and_then(|Query(q)| q.token)
        .or(from_header)
        .ok_or_else(not_found_or_expired)?;
    state
        .throttle
        .check_account(AccountKey::token("activation", &path.id))?;
    let id = path.id().ok_or_else(not_found_or_expired)?;
    let key = state.link_key.as_ref().ok_or_else(not_found_or_expired)?;
    if !key.verifies(id, &token) {
        return Err(not_found_or_expired());
    }
    let link = state
        .store
        .link(id)
        .await
        .or_500("Failed to check link")?
        .filter(|link| link.activated_at.is_some() || link.expires_at > now_ms())
        .ok_or_else(not_found_or_expired)?;
    Ok(Json(CheckResponse {
        success: SuccessTrue,
        uuid: link.id,
        email: link.email,
        activated_at: link.activated_at.map(rfc3339),
    }))
}
