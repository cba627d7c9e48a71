//! Reading workspaces (contract section 3): `GET /workspace` (every workspace the caller can
//! see, or one page of them) and `GET /workspace/{id}`, each with its members. The listing is the
//! hot path: its bodies own the store's rows and serialize straight from them (borrowed views, no
//! copy of any string), and their schemas are derived from those views, so the document
//! describes exactly what is written.

use std::cell::RefCell;
use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use foldhash::fast::FixedState;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{OrgId, UserId, WorkspaceId, WorkspaceRole};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::responses::Unauthorized;
use crate::http::bodies::workspaces::WorkspaceRoleName;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{Bearer, WorkspacePath};
use crate::http::common::json::SizedJson;
use crate::http::AppState;
use crate::store::{Member, Selection, WorkspaceWithMembers};

/// Largest page `GET /workspace?limit=` accepts.
const MAX_PAGE: i64 = 200;
/// Page size when only a cursor is given.
const DEFAULT_PAGE: i64 = 50;

/// The two reads; `workspaces.rs` routes the writes of the same paths.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workspaces))
        .routes(routes!(get_workspace))
}

/// The member's user: `{"id","name","lastName","email","orgRole"}` (`name` is the first name).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WorkspaceUserInfo)]
#[serde(rename_all = "camelCase")]
struct MemberUserJson<'a> {
    id: UserId,
    /// First name.
    name: &'a str,
    last_name: &'a str,
    email: &'a str,
    org_role: i16,
}

/// A member of a workspace: `{"userId","role","user":{...}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WorkspaceUser)]
#[serde(rename_all = "camelCase")]
struct WorkspaceUserJson<'a> {
    user_id: UserId,
    role: WorkspaceRoleName,
    user: MemberUserJson<'a>,
}

impl<'a> From<&'a Member> for WorkspaceUserJson<'a> {
    fn from(m: &'a Member) -> Self {
        WorkspaceUserJson {
            user_id: m.user_id,
            role: m.role.into(),
            user: MemberUserJson {
                id: m.user_id,
                name: &m.user.first_name,
                last_name: &m.user.last_name,
                email: &m.user.email,
                org_role: m.user.org_role.value().into(),
            },
        }
    }
}

/// The members of a workspace, written one by one as [`WorkspaceUserJson`], through the
/// answer's [`MemberJsonCache`] when it has one.
#[derive(Debug)]
struct MembersJson<'a> {
    members: &'a [Member],
    cache: Option<&'a MemberJsonCache>,
}

impl Serialize for MembersJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq as _};
        let Some(cache) = self.cache else {
            return serializer.collect_seq(self.members.iter().map(WorkspaceUserJson::from));
        };
        let mut seq = serializer.serialize_seq(Some(self.members.len()))?;
        let mut slots = cache.0.borrow_mut();
        for member in self.members {
            match slots.get_mut(&(member.user_id, member.role)) {
                Some(MemberSlot::Json(json)) => seq.serialize_element(&**json)?,
                Some(slot @ MemberSlot::Repeated) => {
                    let json = serde_json::value::to_raw_value(&WorkspaceUserJson::from(member))
                        .map_err(S::Error::custom)?;
                    seq.serialize_element(&*json)?;
                    *slot = MemberSlot::Json(json);
                }
                _ => seq.serialize_element(&WorkspaceUserJson::from(member))?,
            }
        }
        seq.end()
    }
}

/// The JSON of each membership (a user with a role) that a listing writes more than once,
/// written the first time and copied after: the same people are members of many workspaces, and
/// writing JSON (escaping every string byte by byte) was a fifth of a listing's CPU
/// (BENCHMARKS.md, issue 23). The answer is the same byte for byte. Only for answers serialized
/// by serde_json (`SizedJson`), which writes a `RawValue` as it is.
#[derive(Debug, Default)]
struct MemberJsonCache(RefCell<HashMap<(UserId, WorkspaceRole), MemberSlot, FixedState>>);

#[derive(Debug)]
enum MemberSlot {
    Once,
    Repeated,
    Json(Box<RawValue>),
}

impl MemberJsonCache {
    /// Which memberships of `listed` come more than once.
    fn of(listed: &[WorkspaceWithMembers]) -> MemberJsonCache {
        let mut slots = HashMap::default();
        for member in listed.iter().flat_map(|w| &w.members) {
            slots
                .entry((member.user_id, member.role))
                .and_modify(|slot| *slot = MemberSlot::Repeated)
                .or_insert(MemberSlot::Once);
        }
        MemberJsonCache(RefCell::new(slots))
    }
}

/// A workspace with its active members: `{"id","name","orgId","users":[WorkspaceUser]}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WorkspaceWithUsers)]
#[serde(rename_all = "camelCase")]
struct WithMembersJson<'a> {
    id: WorkspaceId,
    name: &'a str,
    org_id: OrgId,
    #[schema(value_type = Vec<WorkspaceUserJson>)]
    users: MembersJson<'a>,
}

impl<'a> WithMembersJson<'a> {
    fn new(w: &'a WorkspaceWithMembers, cache: Option<&'a MemberJsonCache>) -> Self {
        WithMembersJson {
            id: w.workspace.id,
            name: &w.workspace.name,
            org_id: w.workspace.org_id,
            users: MembersJson {
                members: &w.members,
                cache,
            },
        }
    }
}

/// Store rows that are written as [`WithMembersJson`] when the answer is serialized.
#[derive(Debug)]
struct Listed<T>(T);

impl Serialize for Listed<WorkspaceWithMembers> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WithMembersJson::new(&self.0, None).serialize(serializer)
    }
}

impl Serialize for Listed<Vec<WorkspaceWithMembers>> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let cache = MemberJsonCache::of(&self.0);
        serializer.collect_seq(self.0.iter().map(|w| WithMembersJson::new(w, Some(&cache))))
    }
}

/// About the length of the JSON of `listed` (a little more, rather than less), so the answer is
/// written into one buffer of the right size.
fn json_size<'a>(listed: impl IntoIterator<Item = &'a WorkspaceWithMembers>) -> usize {
    const MEMBER: usize = 200;
    const WORKSPACE: usize = 120;
    64 + listed
        .into_iter()
        .map(|w| WORKSPACE + w.workspace.name.len() + w.members.len() * MEMBER)
        .sum::<usize>()
}

/// `GET /workspace/{id}`, 200: `{"success":true,"workspace":{... with users}}`.
#[derive(Debug, Serialize, ToSchema)]
struct WorkspaceWithUsersResponse {
    success: SuccessTrue,
    #[schema(value_type = WithMembersJson)]
    workspace: Listed<WorkspaceWithMembers>,
}

impl WorkspaceWithUsersResponse {
    fn new(workspace: WorkspaceWithMembers) -> Self {
        WorkspaceWithUsersResponse {
            success: SuccessTrue,
            workspace: Listed(workspace),
        }
    }

    fn size_hint(&self) -> usize {
        json_size([&self.workspace.0])
    }
}

/// `GET /workspace`, 200: `{"success":true,"workspaces":[...],"nextCursor"?}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct WorkspacesResponse {
    success: SuccessTrue,
    #[schema(value_type = Vec<WithMembersJson>)]
    workspaces: Listed<Vec<WorkspaceWithMembers>>,
    /// Present when paging (`limit` or `cursor` given) and more workspaces follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    next_cursor: Option<String>,
}

impl WorkspacesResponse {
    fn new(workspaces: Vec<WorkspaceWithMembers>, next_cursor: Option<String>) -> Self {
        WorkspacesResponse {
            success: SuccessTrue,
            workspaces: Listed(workspaces),
            next_cursor,
        }
    }

    fn size_hint(&self) -> usize {
        json_size(&self.workspaces.0)
    }
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
}

/// An opaque keyset position: URL-safe base64 of the last workspace's id followed by its name key.
fn encode_cursor(last: &WorkspaceWithMembers) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}{}", last.workspace.id, last.name_key))
}

fn decode_cursor(cursor: &str) -> Option<(String, WorkspaceId)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (id, key) = (text.get(..36)?, text.get(36..)?);
    // No name key holds a NUL, and PostgreSQL's `text` cannot: a 400, not a failed query.
    if key.contains('\0') {
        return None;
    }
    Some((key.to_owned(), WorkspaceId::parse(id)?))
}

fn invalid_query(message: &'static str) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, message)
}

/// Every workspace the caller can see, with members, by name. With `limit` and/or `cursor`, one
/// page and a `nextCursor` when more follow.
#[utoipa::path(
    get,
    path = "/workspace",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (1 to 200; 50 when only `cursor` is given)"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "The workspaces the caller can see", body = WorkspacesResponse),
        (status = 400, description = "`INVALID_QUERY`: a bad `limit` or `cursor`", body = ErrorResponse),
        Unauthorized,
        (status = 500, description = "Failed to fetch workspaces", body = ErrorResponse),
    )
)]
async fn list_workspaces(
    State(state): State<AppState>,
    bearer: Bearer,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<SizedJson<WorkspacesResponse>, ApiError> {
    let Page {
        limit,
        after,
        paginated,
    } = match page_of(params) {
        Ok(page) => page,
        Err(error) => return Err(bearer.or_unauthorized(&state, error).await),
    };
    // One more than asked tells whether another page follows.
    let selection = Selection::Page {
        after,
        limit: limit.saturating_add(1),
    };
    let found = state
        .store
        .visible_workspaces(bearer.claim, selection)
        .await
        .or_500("Failed to fetch workspaces")?;
    let Some(mut listed) = found else {
        return Err(bearer.not_live(&state).await);
    };
    let more = listed.len() as i64 > limit;
    listed.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = (paginated && more)
        .then(|| listed.last().map(encode_cursor))
        .flatten();
    let body = WorkspacesResponse::new(listed, next_cursor);
    let size_hint = body.size_hint();
    Ok(SizedJson { body, size_hint })
}

/// The page a listing asks for. Without `limit` and `cursor`, everything.
struct Page {
    limit: i64,
    /// The keyset position (`name_key`, id) to start after.
    after: Option<(String, WorkspaceId)>,
    /// Whether pages were asked for at all (then the answer may carry `nextCursor`).
    paginated: bool,
}

fn page_of(params: Result<Query<ListParams>, QueryRejection>) -> Result<Page, ApiError> {
    let Query(params) = params.map_err(|_| invalid_query("Invalid query string"))?;
    let paginated = params.limit.is_some() || params.cursor.is_some();
    let limit = match params.limit.as_deref() {
        None if paginated => DEFAULT_PAGE,
        None => i64::MAX,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| invalid_query("limit must be an integer from 1 to 200"))?,
    };
    let after = match params.cursor.as_deref() {
        None => None,
        Some(raw) => Some(decode_cursor(raw).ok_or_else(|| invalid_query("Invalid cursor"))?),
    };
    Ok(Page {
        limit,
        after,
        paginated,
    })
}

/// One workspace with its members.
#[utoipa::path(
    get,
    path = "/workspace/{id}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(WorkspacePath),
    responses(
        (status = 200, description = "The workspace with its members", body = WorkspaceWithUsersResponse),
        Unauthorized,
        (status = 404, description = "Workspace not found or access denied", body = ErrorResponse),
        (status = 500, description = "Failed to fetch workspace", body = ErrorResponse),
    )
)]
async fn get_workspace(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(WorkspacePath { id }): Path<WorkspacePath>,
) -> Result<SizedJson<WorkspaceWithUsersResponse>, ApiError> {
    let not_found = || {
        ApiError::not_found(
            ErrorCode::WorkspaceNotFound,
            "Workspace not found or access denied",
        )
    };
    let Some(id) = id.id() else {
        return Err(bearer.or_unauthorized(&state, not_found()).await);
    };
    let found = state
        .store
        .visible_workspaces(bearer.claim, Selection::One(id))
        .await
        .or_500("Failed to fetch workspace")?;
    let Some(listed) = found else {
        return Err(bearer.not_live(&state).await);
    };
    let workspace = listed.into_iter().next().ok_or_else(not_found)?;
    let body = WorkspaceWithUsersResponse::new(workspace);
    let size_hint = body.size_hint();
    Ok(SizedJson { body, size_hint })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uuid::Uuid;

    use super::{Listed, WithMembersJson};
    use crate::domain::{OrgId, OrgRole, UserId, WorkspaceId, WorkspaceRole};
    use crate::store::{Member, MemberUser, Workspace, WorkspaceWithMembers};

    fn member(user: u128, role: WorkspaceRole, name: &str) -> Member {
        Member {
            user_id: UserId::from_uuid(Uuid::from_u128(user)),
            role,
            joined_at: 0,
            user: Arc::new(MemberUser {
                first_name: name.into(),
                last_name: "Ø \"quoted\"".into(),
                email: format!("{name}@x.io"),
                org_role: OrgRole::User,
            }),
        }
    }

    /// The listing's JSON with the cache of repeated memberships is the JSON each workspace
    /// gives on its own: the same user with another role, or a user met once, is not copied
    /// from the wrong entry.
    #[test]
    fn repeated_memberships_are_written_as_they_would_be_alone() {
        use WorkspaceRole::{Admin, Read, Write};
        let workspaces: Vec<WorkspaceWithMembers> = [
            vec![member(1, Admin, "a"), member(2, Read, "b")],
            vec![
                member(1, Admin, "a"),
                member(2, Write, "b"),
                member(3, Read, "c"),
            ],
            vec![member(2, Read, "b"), member(1, Read, "a")],
            vec![],
            vec![member(1, Admin, "a")],
        ]
        .into_iter()
        .enumerate()
        .map(|(at, members)| WorkspaceWithMembers {
            workspace: Workspace {
                id: WorkspaceId::from_uuid(Uuid::from_u128(100 + at as u128)),
                org_id: OrgId::from_uuid(Uuid::nil()),
                name: format!("w{at}"),
            },
            name_key: format!("w{at}"),
            members,
        })
        .collect();
        let alone: Vec<String> = workspaces
            .iter()
            .map(|w| serde_json::to_string(&WithMembersJson::new(w, None)).unwrap())
            .collect();
        let listed = serde_json::to_string(&Listed(workspaces)).unwrap();
        assert_eq!(listed, format!("[{}]", alone.join(",")));
        assert!(listed.contains(r#""role":"WRITE""#), "{listed}");
    }
}
