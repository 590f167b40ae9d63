//! The account page: who you are, your live sessions, and "sign out
//! everywhere else".

use askama::Template;
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::time::OffsetDateTime;
use rocket::{get, post, routes, Route};

use super::{login_redirect, CurrentUser};
use crate::csrf::{self, CsrfForm, NoFields};
use crate::error::AppError;
use crate::page::{render, Chrome, Flash, FlashKind};
use crate::session::store::now_ms;
use crate::session::Session;

/// One row of the sessions table.
struct SessionRow {
    started: String,
    last_used: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    csrf_token: String,
    username: String,
    sessions: Vec<SessionRow>,
    others: usize,
}

/// "2026-11-26 05:12 UTC".
fn utc(ms: u64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp((ms / 1000) as i64) else {
        return "—".into();
    };
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// "just now", "5 minutes ago", "3 hours ago".
fn ago(ms: u64, now: u64) -> String {
    match now.saturating_sub(ms) / 1000 {
        0..60 => "just now".into(),
        s @ 60..3600 => plural(s / 60, "minute"),
        s => plural(s / 3600, "hour"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[get("/account")]
async fn account(
    user: CurrentUser,
    session: Session,
    chrome: Chrome,
) -> Result<RawHtml<String>, AppError> {
    let now = now_ms();
    let sessions: Vec<SessionRow> = session
        .owner_sessions()
        .await?
        .into_iter()
        .map(|s| SessionRow {
            started: utc(s.created_ms),
            last_used: ago(s.last_seen_ms, now),
            current: s.current,
        })
        .collect();
    let others = sessions.iter().filter(|s| !s.current).count();
    render(&AccountPage {
        chrome,
        csrf_token: csrf::token(&session).await?,
        username: user.name,
        sessions,
        others,
    })
}

#[get("/account", rank = 2)]
fn account_anonymous() -> Redirect {
    login_redirect("/account")
}

#[post("/account/logout-others", data = "<_form>")]
async fn logout_others(
    _form: CsrfForm<NoFields>,
    _user: CurrentUser,
    session: Session,
) -> Result<Redirect, AppError> {
    let ended = session.end_other_sessions().await?;
    let message = match ended {
        0 => "There were no other sessions to sign out.".to_owned(),
        1 => "Signed out 1 other session.".to_owned(),
        n => format!("Signed out {n} other sessions."),
    };
    Flash::set(&session, FlashKind::Success, message)?;
    session.save().await?;
    Ok(Redirect::to("/account"))
}

#[post("/account/logout-others", data = "<_form>", rank = 2)]
fn logout_others_anonymous(_form: CsrfForm<NoFields>) -> Redirect {
    login_redirect("/account")
}

/// The account page and its action.
pub fn routes() -> Vec<Route> {
    routes![
        account,
        account_anonymous,
        logout_others,
        logout_others_anonymous
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(ago(1_000, 30_000), "just now");
        assert_eq!(ago(0, 61_000), "1 minute ago");
        assert_eq!(ago(0, 7_300_000), "2 hours ago");
    }
}
