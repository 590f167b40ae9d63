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

/// 303 to the login page, which comes back to `next` after login:
/// `/login?next=/cart`. Only what a query cannot hold as it is gets
/// percent-encoded; `/` stays readable.
pub fn login_redirect(next: &str) -> Redirect {
    let mut target = String::from("/login?next=");
    for c in next.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '/' | '-' | '_' | '.' | '~' => target.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    target.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    Redirect::to(target)
}
