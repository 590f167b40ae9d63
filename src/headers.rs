//! Security headers on every response, error pages included.
//!
//! The headers Rocket's Shield knows (`X-Content-Type-Options`,
//! `X-Frame-Options`, `Referrer-Policy`, `Permissions-Policy`), made from
//! its policies, and the `Content-Security-Policy`, which forbids inline
//! scripts and styles (the templates have none) and framing by any site.
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
//! One response fairing sets them all, from one list made at launch
//! ([`SecurityHeaders`]), rather than the Shield: one response skips
//! response fairings, the error page Rocket sends for a request it
//! cannot take (an unknown method), so the error page's responder sets
//! the same list itself, and the Shield would then log a warning for each
//! header it finds already set, on every error page. (The Shield also adds
//! HSTS only when Rocket serves TLS, which it does not behind a proxy.)

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::shield::{Frame, Hsts, NoSniff, Permission, Policy, Referrer, Shield};
use rocket::{Request, Response};

use crate::session::SessionConfig;

/// The policy: everything from this site only, nothing else at all.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self'; style-src 'self'; \
     script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// How long browsers keep to HTTPS after a response: a year.
const HSTS_MAX_AGE_DAYS: i64 = 365;

/// The security headers of every response, made at launch from
/// `session.secure` and managed by Rocket.
pub struct SecurityHeaders(Vec<Header<'static>>);

impl SecurityHeaders {
    /// The list, with HSTS if `secure`.
    pub fn new(secure: bool) -> Self {
        let mut headers = vec![
            NoSniff::Enable.header(),
            Frame::Deny.header(),
            Referrer::StrictOriginWhenCrossOrigin.header(),
            Permission::default().header(),
            Header::new("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ];
        if secure {
            let year = rocket::time::Duration::days(HSTS_MAX_AGE_DAYS);
            headers.push(Hsts::IncludeSubDomains(year).header());
        }
        SecurityHeaders(headers)
    }

    /// Sets every header of the list on `res`, replacing any of the same
    /// name: borrowed from the list, so a response copies no value.
    pub fn set_on<'r>(&'r self, res: &mut Response<'r>) {
        for header in &self.0 {
            res.set_header(Header::new(header.name().as_str(), header.value()));
        }
    }
}

struct SetHeaders;

#[rocket::async_trait]
impl Fairing for SetHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Security headers",
            kind: Kind::Response | Kind::Singleton,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if let Some(headers) = req.rocket().state::<SecurityHeaders>() {
            headers.set_on(res);
        }
    }
}

/// Manages the [`SecurityHeaders`] (with HSTS when `session.secure` is
/// on) and attaches the fairing that sets them, and an empty Shield in
/// place of Rocket's default one.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Security headers", |rocket| async {
        // A bad `session` table stops the launch in the session fairing,
        // with a message naming the key; here it only means no HSTS.
        let secure = SessionConfig::from_figment(rocket.figment()).is_ok_and(|c| c.secure);
        rocket
            .manage(SecurityHeaders::new(secure))
            .attach(Shield::new())
            .attach(SetHeaders)
    })
}
