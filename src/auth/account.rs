//! The account page: who you are, your live sessions ("sign out everywhere
//! else"), your orders, changing the password, and deleting the account.
//!
//! Changing the password and deleting the account check the current
//! password as one counted attempt, exactly as a login is counted (see
//! [`super::attempt`]): on the username's counter and the address's, or,
//! from a browser with a valid device cookie for the name, on that
//! device's own counter, so strangers who locked the name cannot lock its
//! owner out of changing the password. A wrong password here is a failed
//! login for the username, lockout included: a stolen session gets no
//! more guesses here than its browser would get at the login form.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::CookieJar;
use rocket::response::content::RawHtml;
use rocket::response::{Redirect, Responder};
use rocket::{get, post, routes, Route, State};

use super::attempt::{check_password, ClientAddr};
use super::store::{AccountError, DEMO_USERS};
use super::validate::password_problem;
use super::{current_user, device, login_redirect, stamp, Auth, CurrentUser};
use crate::cart::orders::OrderSummary;
use crate::csrf::{self, CsrfForm, NoFields};
use crate::error::AppError;
use crate::page::{render, utc, Chrome, Flash, FlashKind};
use crate::session::store::now_ms;
use crate::session::{Session, SessionError};

/// One row of the sessions table.
struct SessionRow {
    /// The browser and OS it logged in with.
    client: String,
    started: String,
    last_used: String,
    current: bool,
    remembered: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    csrf_token: String,
    username: String,
    sessions: Vec<SessionRow>,
    others: usize,
    orders: Vec<OrderSummary>,
    /// A demo account: shown, but its password and existence are fixed.
    demo: bool,
    password_problem: Option<&'static str>,
    delete_problem: Option<&'static str>,
}

/// The account page, or the same page with a problem shown on a form.
#[derive(Responder)]
enum AccountResult {
    #[response(status = 401)]
    WrongPassword(RawHtml<String>),
    #[response(status = 422)]
    Invalid(RawHtml<String>),
    Done(Box<Redirect>),
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago".
fn ago(ms: u64, now: u64) -> String {
    match now.saturating_sub(ms) / 1000 {
        0..60 => "just now".into(),
        s @ 60..3600 => plural(s / 60, "minute"),
        s @ 3600..86_400 => plural(s / 3600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

async fn page(
    user: CurrentUser,
    session: &Session,
    chrome: Chrome,
    auth: &Auth,
) -> Result<AccountPage, AppError> {
    let now = now_ms();
    let sessions: Vec<SessionRow> = session
        .owner_sessions()
        .await?
        .into_iter()
        .map(|s| SessionRow {
            client: s.label.as_deref().unwrap_or("Unknown browser").to_owned(),
            started: utc(s.created_ms),
            last_used: ago(s.last_seen_ms, now),
            current: s.current,
            remembered: s.remembered,
        })
        .collect();
    let orders = auth.store.orders(&user.name).await?;
    Ok(AccountPage {
        chrome,
        csrf_token: csrf::token(session).await?,
        demo: is_demo(auth, &user.name),
        username: user.name,
        others: sessions.iter().filter(|s| !s.current).count(),
        sessions,
        orders: orders.iter().map(OrderSummary::from).collect(),
        password_problem: None,
        delete_problem: None,
    })
}

#[get("/account")]
async fn account(
    user: CurrentUser,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
) -> Result<RawHtml<String>, AppError> {
    render(&page(user, &session, chrome, auth).await?)
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
    // Another of the user's devices that asked first may have ended this
    // session with the others: then this one changes nothing, and its
    // page says the session ended.
    if !session.owner_sessions().await?.iter().any(|s| s.current) {
        return Err(AppError::SessionEnded);
    }
    let ended = session.end_other_sessions().await?;
    let message = match ended {
        0 => "There were no other sessions to sign out.".to_owned(),
        1 => "Signed out 1 other session.".to_owned(),
        n => format!("Signed out {n} other sessions."),
    };
    Flash::set(&session, FlashKind::Success, message)?;
    match session.save().await {
        // Another of the user's devices got past the check above at the
        // same moment and ended this one too: the others are gone as
        // asked, so the usual "nothing was changed" would not be true.
        Err(SessionError::Gone) => Err(AppError::Conflict(
            "Your other sessions were signed out, and so was this one: another of your \
             devices changed the password or signed out everywhere else at the same moment. \
             Sign in again."
                .into(),
        )),
        saved => {
            saved?;
            Ok(Redirect::to("/account"))
        }
    }
}

/// The password form's fields.
#[derive(FromForm)]
struct PasswordForm {
    #[field(default = String::new())]
    current_password: String,
    #[field(default = String::new())]
    new_password: String,
}

/// The deletion form's field.
#[derive(FromForm)]
struct DeleteForm {
    #[field(default = String::new())]
    password: String,
}

const WRONG_PASSWORD: &str = "That is not your current password.";

/// If `password` is `user`'s, the password hash it was checked against
/// (for a change to replace only that one). Checked as a counted attempt
/// exactly like a login's: on the device's own counter from a browser with
/// a valid device cookie (so strangers who locked the name cannot lock its
/// owner out of changing the password), else on the username's.
async fn checked_password(
    auth: &Auth,
    user: &CurrentUser,
    password: String,
    jar: &CookieJar<'_>,
    addr: &ClientAddr,
) -> Result<Option<String>, AppError> {
    let account = auth.store.account(&user.name).await?;
    let key = auth.store.device_key().await?;
    let device = device::read(jar, auth.secure, &key, &user.name, account.as_ref());
    let right = check_password(
        auth,
        &user.name,
        account.as_ref(),
        password,
        device.as_ref(),
        addr,
    )
    .await?;
    Ok(account.filter(|_| right).map(|a| a.password_hash))
}

/// Whether `name` is one of the debug profile's demo accounts, which are
/// read-only: their page offers no password or deletion form, and a form
/// sent by hand is refused before any password is checked (a wrong one
/// would otherwise get the page's "wrong password", next to no form).
fn is_demo(auth: &Auth, name: &str) -> bool {
    auth.config.demo_users && DEMO_USERS.iter().any(|(demo, _)| *demo == name)
}

/// Changes the password: rotates this session's id, restamps it, and ends
/// every other session of the user, on every instance.
#[post("/account/password", data = "<form>")]
#[allow(clippy::too_many_arguments)] // Rocket's guards are the arguments
async fn change_password(
    form: CsrfForm<PasswordForm>,
    user: CurrentUser,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    addr: ClientAddr,
) -> Result<AccountResult, AppError> {
    if is_demo(auth, &user.name) {
        return Err(AppError::ReadOnlyAccount);
    }
    let PasswordForm {
        current_password,
        new_password,
    } = form.0;
    if let Some(problem) = password_problem(&new_password) {
        let mut page = page(user, &session, chrome, auth).await?;
        page.password_problem = Some(problem);
        return Ok(AccountResult::Invalid(render(&page)?));
    }
    let Some(checked) = checked_password(auth, &user, current_password, jar, &addr).await? else {
        let mut page = page(user, &session, chrome, auth).await?;
        page.password_problem = Some(WRONG_PASSWORD);
        return Ok(AccountResult::WrongPassword(render(&page)?));
    };
    let hash = auth.hasher.hash(new_password).await;
    // Only over the password just checked: of two changes at once, the
    // second changes nothing and its page says so.
    auth.store.set_password(&user.name, &checked, &hash).await?;
    // This browser proved the new password as much as a login would: its
    // device cookie moves to it, where the others' stop counting.
    device::issue(
        jar,
        auth.secure,
        &auth.store.device_key().await?,
        &user.name,
        &hash,
    );
    session.insert(current_user::STAMP_KEY, stamp(&hash))?;
    session.cycle_id();
    // Their stamps are stale already; this removes them from the store
    // too. Before the save, so that they go even if another device ends
    // this session meanwhile.
    session.end_other_sessions().await?;
    Flash::set(&session, FlashKind::Success, "Your password is changed.")?;
    match session.save().await {
        Err(SessionError::Gone) => Err(AppError::Conflict(
            "Your password is changed, but another of your devices signed this session out \
             at the same moment. Sign in with the new password."
                .into(),
        )),
        saved => {
            saved?;
            Ok(AccountResult::Done(Box::new(Redirect::to("/account"))))
        }
    }
}

/// Deletes the account and its orders, and ends all its sessions.
#[post("/account/delete", data = "<form>")]
#[allow(clippy::too_many_arguments)] // Rocket's guards are the arguments
async fn delete_account(
    form: CsrfForm<DeleteForm>,
    user: CurrentUser,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    addr: ClientAddr,
) -> Result<AccountResult, AppError> {
    if is_demo(auth, &user.name) {
        return Err(AppError::ReadOnlyAccount);
    }
    let Some(checked) = checked_password(auth, &user, form.0.password, jar, &addr).await? else {
        let mut page = page(user, &session, chrome, auth).await?;
        page.delete_problem = Some(WRONG_PASSWORD);
        return Ok(AccountResult::WrongPassword(render(&page)?));
    };
    // Only while the password just checked is the one in force: a change
    // that came first shut it out (409, nothing deleted).
    match auth.store.delete(&user.name, &checked).await {
        // Already gone: deleted from another browser at the same moment,
        // or a command retried after a dropped connection whose first try
        // went through. Its sessions end all the same.
        Ok(()) | Err(AccountError::NoAccount) => {}
        Err(e) => return Err(e.into()),
    }
    session.end_other_sessions().await?;
    session.invalidate().await?;
    device::forget(jar, auth.secure);
    Flash::set(
        &session,
        FlashKind::Info,
        format!("The account {} and its orders are deleted.", user.name),
    )?;
    session.save().await?;
    Ok(AccountResult::Done(Box::new(Redirect::to("/"))))
}

/// The account actions, for the route that catches them without a login.
const ACTIONS: [&str; 3] = ["logout-others", "password", "delete"];

/// A visitor without a login is sent to log in, for every account action;
/// an action that does not exist is a 404, signed in or not. The form is
/// still checked: every POST without the session's token gets 403.
#[post("/account/<action>", data = "<_form>", rank = 2)]
fn account_action_anonymous(action: &str, _form: CsrfForm<NoFields>) -> Result<Redirect, AppError> {
    if !ACTIONS.contains(&action) {
        return Err(AppError::NotFound(
            "There is no such account action.".into(),
        ));
    }
    Ok(login_redirect("/account"))
}

/// The account page and its actions.
pub fn routes() -> Vec<Route> {
    routes![
        account,
        account_anonymous,
        logout_others,
        change_password,
        delete_account,
        account_action_anonymous
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        assert_eq!(ago(1_000, 30_000), "just now");
        assert_eq!(ago(0, 61_000), "1 minute ago");
        assert_eq!(ago(0, 7_300_000), "2 hours ago");
    }
}
