//! Security headers on every response, error pages included.
//!
//! Rocket's [`Shield`] covers `X-Content-Type-Options`, `X-Frame-Options`,
//! `Referrer-Policy` and `Permissions-Policy`; this adds the
//! `Content-Security-Policy`, which forbids inline scripts and styles (the
//! templates have none) and framing by any site.

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::shield::{Frame, NoSniff, Permission, Referrer, Shield};
use rocket::{Request, Response};

/// The policy: everything from this site only, nothing else at all.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self'; style-src 'self'; \
     script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

struct Csp;

#[rocket::async_trait]
impl Fairing for Csp {
    fn info(&self) -> Info {
        Info {
            name: "Content-Security-Policy",
            kind: Kind::Response | Kind::Singleton,
        }
    }

    async fn on_response<'r>(&self, _: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new(
            "Content-Security-Policy",
            CONTENT_SECURITY_POLICY,
        ));
    }
}

/// Attaches the Shield and the CSP.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Security headers", |rocket| async {
        let shield = Shield::new()
            .enable(NoSniff::Enable)
            .enable(Frame::Deny)
            .enable(Referrer::StrictOriginWhenCrossOrigin)
            .enable(Permission::default());
        rocket.attach(shield).attach(Csp)
    })
}
