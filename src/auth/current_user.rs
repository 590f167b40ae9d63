//! [`CurrentUser`]: the request guard for pages that need a login.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;

use crate::session::Session;

/// The signed-in user: the owner of the request's session.
///
/// Without one it forwards (with 401), so a `rank = 2` route for the same
/// path can send the visitor to log in; see [`login_redirect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The username.
    pub name: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = crate::session::SessionError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let session = rocket::outcome::try_outcome!(req.guard::<Session>().await);
        match session.owner() {
            Some(name) => Outcome::Success(CurrentUser { name }),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

/// 303 to the login page, which comes back to `next` after login.
pub fn login_redirect(next: &str) -> Redirect {
    Redirect::to(rocket::uri!(super::pages::login_page(Some(next))))
}
