//! What the route modules share: the error type, the extractors, field validation, the checks
//! several routes make in the same order, and issuing sessions and verification e-mails. Route
//! modules import from here and from `bodies`, never from one another.

pub mod credentials;
pub mod device;
pub mod error;
pub mod extract;
pub mod fields;
pub mod json;
pub mod refresh;
pub mod rules;
pub mod throttle;
