//! Protection against overload and abuse at the edge: a global cap on requests in flight (503
//! beyond it), and the per-address rate limit on the routes that guess or spend credentials
//! (429 with `Retry-After`). The limits themselves, and those per account and per user that the
//! handlers check on the values they parse, are in `common::throttle`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::BoxError;

use super::common::error::ApiError;
use super::common::throttle::{ClientAddr, Throttle};

/// The routes that are limited: they check passwords or tokens, or send e-mail.
fn is_limited(method: &Method, path: &str) -> bool {
    matches!(
        path,
        "/user/login"
            | "/user/register"
            | "/user/activate"
            | "/user/verify-email"
            | "/user/pre-verify-email"
            | "/user/refresh"
            | "/user/request-reset-password"
            | "/user/reset-password"
    ) || path.starts_with("/user/resend-verification/")
        // Provider and passkey sign-ins, the refreshes; `GET /auth/providers` is not limited.
        || (method == Method::POST && path.starts_with("/auth/"))
        // The browser flow's start and callback (each spends a provider call or a state).
        || (method == Method::GET && path.starts_with("/auth/oidc/"))
        // The public check of an activation link's token; the administrators' calls are not.
        || (method == Method::GET && path.starts_with("/links/"))
}

/// Middleware: applies the per-address limit to the credential routes.
pub async fn rate_limit(
    State(throttle): State<Arc<Throttle>>,
    request: Request,
    next: Next,
) -> Response {
    if is_limited(request.method(), request.uri().path()) {
        let client = ClientAddr::of(&throttle, request.headers(), request.extensions());
        if let Err(limited) = throttle.check_ip(client.0) {
            return limited.into_response();
        }
    }
    next.run(request).await
}

/// What the load shedder answers when the server already runs its maximum of requests.
pub async fn overloaded(error: BoxError) -> Response {
    if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::overloaded().into_response()
    } else {
        ApiError::internal("Internal server error", error).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::is_limited;
    use axum::http::Method;

    #[test]
    fn only_credential_routes_are_limited() {
        let (get, post) = (&Method::GET, &Method::POST);
        assert!(is_limited(post, "/user/login"));
        assert!(is_limited(post, "/user/activate"));
        assert!(is_limited(post, "/user/resend-verification/abc"));
        assert!(is_limited(get, "/links/abc"));
        assert!(is_limited(post, "/auth/google"));
        assert!(is_limited(post, "/auth/microsoft/refresh"));
        assert!(!is_limited(get, "/auth/providers"));
        assert!(is_limited(get, "/auth/oidc/google/callback"));
        assert!(is_limited(post, "/auth/oidc/complete"));
        assert!(is_limited(post, "/auth/passkey/options"));
        assert!(is_limited(post, "/auth/passkey/verify"));
        assert!(!is_limited(&Method::PUT, "/links/abc"));
        assert!(!is_limited(get, "/links"));
        assert!(!is_limited(get, "/workspace"));
        assert!(!is_limited(get, "/user/profile"));
    }
}
