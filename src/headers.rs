//! Security headers on every response, error pages included.
//!
//! Rocket's [`Shield`] covers `X-Content-Type-Options`, `X-Frame-Options`,
//! `Referrer-Policy` and `Permissions-Policy`; this adds the
//! `Content-Security-Policy`, which forbids inline scripts and styles (the
//! templates have none) and framing by any site.
//!
//! With `session.secure` on (the release profile, served over HTTPS,
//! usually behind a proxy that terminates TLS), every response also
//! carries `Strict-Transport-Security: max-age=31536000;
//! includeSubDomains`, so a browser that has seen the site once never
//! sends it plain HTTP again, where a network attacker could read the
//! session cookie or plant one:
//! - a year: OWASP's recommendation and the least that preload lists take;
//! - `includeSubDomains`: hosts below the app's own (never its siblings)
//!   could otherwise be reached over HTTP to set cookies for it;
//! - no `preload`: that is a separate registration, slow to undo.
//!
//! Rocket's Shield adds HSTS by itself only when Rocket serves TLS, which
//! it does not behind a proxy, so it is enabled here from the setting. The
//! debug profile (plain HTTP on localhost) sends none.

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::shield::{Frame, Hsts, NoSniff, Permission, Referrer, Shield};
use rocket::{Request, Response};

use crate::session::SessionConfig;

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

/// How long browsers keep to HTTPS after a response: a year.
const HSTS_MAX_AGE_DAYS: i64 = 365;

/// Attaches the Shield (with HSTS when `session.secure` is on) and the CSP.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Security headers", |rocket| async {
        // A bad `session` table stops the launch in the session fairing,
        // with a message naming the key; here it only means no HSTS.
        let secure = SessionConfig::from_figment(rocket.figment()).is_ok_and(|c| c.secure);
        let mut shield = Shield::new()
            .enable(NoSniff::Enable)
            .enable(Frame::Deny)
            .enable(Referrer::StrictOriginWhenCrossOrigin)
            .enable(Permission::default());
        if secure {
            shield = shield.enable(Hsts::IncludeSubDomains(rocket::time::Duration::days(
                HSTS_MAX_AGE_DAYS,
            )));
        }
        rocket.attach(shield).attach(Csp)
    })
}
