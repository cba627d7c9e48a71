//! Organization users (contract section 5): `/organization/users...`.

use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
