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
//!
//! One response skips response fairings: the error page Rocket sends for
//! a request it cannot take (an unknown method). The error page's
//! responder sets the same headers itself ([`set_on_error_page`]), from
//! the same policies.

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::shield::{Frame, Hsts, NoSniff, Permission, Policy, Referrer, Shield};
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

/// The Shield's policies: for the Shield, and for the one response it
/// never sees.
fn policies() -> (NoSniff, Frame, Referrer, Permission) {
    (
        NoSniff::Enable,
        Frame::Deny,
        Referrer::StrictOriginWhenCrossOrigin,
        Permission::default(),
    )
}

fn hsts() -> Hsts {
    Hsts::IncludeSubDomains(rocket::time::Duration::days(HSTS_MAX_AGE_DAYS))
}

/// Whether this app sends HSTS: with `session.secure` on. A bad `session`
/// table stops the launch in the session fairing, with a message naming
/// the key; here it only means no HSTS.
fn secure(figment: &rocket::figment::Figment) -> bool {
    SessionConfig::from_figment(figment).is_ok_and(|c| c.secure)
}

/// Attaches the Shield (with HSTS when `session.secure` is on) and the CSP.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Security headers", |rocket| async {
        let (no_sniff, frame, referrer, permission) = policies();
        let mut shield = Shield::new()
            .enable(no_sniff)
            .enable(frame)
            .enable(referrer)
            .enable(permission);
        if secure(rocket.figment()) {
            shield = shield.enable(hsts());
        }
        rocket.attach(shield).attach(Csp)
    })
}

/// Sets every header of this module on an error page. Rocket answers a
/// request it cannot take with the error page and no response fairing,
/// so neither the Shield nor the CSP fairing sees that response. (Every
/// other error page goes through them as well, which sets nothing new.)
pub fn set_on_error_page(req: &Request<'_>, res: &mut Response<'_>) {
    let (no_sniff, frame, referrer, permission) = policies();
    res.set_header(no_sniff.header());
    res.set_header(frame.header());
    res.set_header(referrer.header());
    res.set_header(permission.header());
    if secure(req.rocket().figment()) {
        res.set_header(hsts().header());
    }
    res.set_header(Header::new(
        "Content-Security-Policy",
        CONTENT_SECURITY_POLICY,
    ));
}
