//! Signup, login and logout.
//!
//! Login and signup are limited before any hashing (see
//! [`super::attempt`]); a successful one also leaves the browser a device
//! cookie (see [`super::device`]).

use askama::Template;
use rocket::form::FromForm;
use rocket::http::CookieJar;
use rocket::response::content::RawHtml;
use rocket::response::{Redirect, Responder};
use rocket::{get, post, routes, Route, State};

use super::attempt::{check_password, signup_counter, ClientAddr};
use super::client_label::ClientLabel;
use super::store::{AccountError, DEMO_USERS};
use super::validate::{fold_username, local_redirect, password_problem, username_problem};
use super::{device, log_in, Arrival, Auth};
use crate::csrf::{self, CsrfForm, NoFields};
use crate::error::AppError;
use crate::page::{render, Chrome, Flash, FlashKind};
use crate::session::Session;

/// The message for every failed login, whatever failed.
const LOGIN_FAILED: &str = "That username and password do not match an account.";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf_token: String,
    username: String,
    next: String,
    reason: Option<&'static str>,
    problem: Option<&'static str>,
    demo_users: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    csrf_token: String,
    username: String,
    username_problem: Option<&'static str>,
    password_problem: Option<&'static str>,
}

/// A form page shown again with a status, or a redirect onwards.
#[derive(Responder)]
pub enum FormResult {
    /// The form again: wrong credentials.
    #[response(status = 401)]
    Unauthorized(RawHtml<String>),
    /// The form again: the username is taken.
    #[response(status = 409)]
    Conflict(RawHtml<String>),
    /// The form again: invalid input.
    #[response(status = 422)]
    Invalid(RawHtml<String>),
    /// Done: on to the next page (303).
    Done(Box<Redirect>),
}

#[derive(FromForm)]
struct LoginForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    password: String,
    next: Option<String>,
    /// "Keep me signed in" (`remember=on`).
    #[field(default = false)]
    remember: bool,
}

#[derive(FromForm)]
struct SignupForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    password: String,
}

fn demo_users(auth: &Auth) -> Vec<(&'static str, &'static str)> {
    if auth.config.demo_users {
        DEMO_USERS.to_vec()
    } else {
        Vec::new()
    }
}

/// Why the visitor was sent to log in, from where they are going.
fn reason(next: &str) -> Option<&'static str> {
    match next {
        "/cart" => Some("Sign in to check out."),
        "/account" => Some("Sign in to see your account."),
        n if n.starts_with("/orders/") => Some("Sign in to see your order."),
        _ => None,
    }
}

/// `next` as the form carries it on: only a valid local redirect.
fn kept_next(next: Option<&str>) -> String {
    next.and_then(local_redirect)
        .map(|uri| uri.to_string())
        .unwrap_or_default()
}

impl LoginPage {
    fn new(chrome: Chrome, csrf_token: String, auth: &Auth, next: Option<&str>) -> Self {
        let next = kept_next(next);
        LoginPage {
            chrome,
            csrf_token,
            username: String::new(),
            reason: reason(&next),
            next,
            problem: None,
            demo_users: demo_users(auth),
        }
    }
}

#[get("/login?<next>")]
pub async fn login_page(
    next: Option<&str>,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
) -> Result<RawHtml<String>, AppError> {
    let token = csrf::token(&session).await?;
    render(&LoginPage::new(chrome, token, auth, next))
}

#[post("/login", data = "<form>")]
async fn login(
    form: CsrfForm<LoginForm>,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    addr: ClientAddr,
    client: ClientLabel,
) -> Result<FormResult, AppError> {
    let LoginForm {
        username,
        password,
        next,
        remember,
    } = form.0;
    let name = fold_username(&username);
    let valid_name = username_problem(&name).is_none();
    // A name that breaks the rules cannot have an account: refused before
    // any lookup, counter or hash.
    let account = match valid_name {
        true => auth.store.account(&name).await?,
        false => None,
    };
    let matched = if valid_name {
        let key = auth.store.device_key().await?;
        let device = device::read(jar, auth.secure, &key, &name, account.as_ref());
        check_password(
            auth,
            &name,
            account.as_ref(),
            password,
            device.as_ref(),
            &addr,
        )
        .await?
    } else {
        false
    };
    let Some(account) = account.filter(|_| matched) else {
        let mut page = LoginPage::new(chrome, csrf::token(&session).await?, auth, next.as_deref());
        // The form keeps what was typed, if it could be a username at all.
        page.username = if valid_name { username } else { String::new() };
        page.problem = Some(LOGIN_FAILED);
        return Ok(FormResult::Unauthorized(render(&page)?));
    };
    log_in(
        &session,
        &name,
        &account.password_hash,
        format!("Welcome back, {name}."),
        Arrival {
            remember,
            label: client.0,
        },
    )
    .await?;
    // A password change (or a deletion) may have ended the user's other
    // sessions while this password was being checked, before this session
    // was saved, and so missed it. Read the account again now that the
    // session is saved: if the change came first, its hash is not the one
    // checked; if not, the change's end of the other sessions finds this
    // one.
    let in_force = auth.store.account(&name).await?;
    if in_force.as_ref().map(|a| &a.password_hash) != Some(&account.password_hash) {
        session.invalidate().await?;
        return Err(AppError::Conflict(
            "The password was changed (or the account deleted) while you were signing in, \
             so you are not signed in. Sign in again."
                .into(),
        ));
    }
    let key = auth.store.device_key().await?;
    device::issue(jar, auth.secure, &key, &name, &account.password_hash);
    let target = next
        .as_deref()
        .and_then(local_redirect)
        .unwrap_or_else(|| rocket::uri!("/account"));
    Ok(FormResult::Done(Box::new(Redirect::to(target))))
}

#[get("/signup")]
async fn signup_page(session: Session, chrome: Chrome) -> Result<RawHtml<String>, AppError> {
    render(&SignupPage {
        chrome,
        csrf_token: csrf::token(&session).await?,
        username: String::new(),
        username_problem: None,
        password_problem: None,
    })
}

#[post("/signup", data = "<form>")]
async fn signup(
    form: CsrfForm<SignupForm>,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    addr: ClientAddr,
    client: ClientLabel,
) -> Result<FormResult, AppError> {
    let SignupForm { username, password } = form.0;
    let name = fold_username(&username);
    let mut page = SignupPage {
        chrome,
        csrf_token: csrf::token(&session).await?,
        username_problem: username_problem(&name),
        password_problem: password_problem(&password),
        username,
    };
    if page.username_problem.is_some() || page.password_problem.is_some() {
        if page.username_problem.is_some() {
            page.username.clear();
        }
        return Ok(FormResult::Invalid(render(&page)?));
    }
    // Counted before hashing (and before looking the name up); taken back
    // only if the store failed.
    let counter = signup_counter(auth, &addr);
    if let Some(secs) = auth.store.hit(&[counter]).await?.retry_after_secs() {
        return Err(AppError::TooManyAttempts(secs));
    }
    let created = async {
        // Checked again atomically by `create`; this spares a hash.
        if auth.store.account(&name).await?.is_some() {
            return Err(AccountError::Taken);
        }
        let hash = auth.hasher.hash(password).await;
        auth.store.create(&name, &hash).await
    }
    .await;
    let account = match created {
        Ok(account) => account,
        // A taken name still counts: otherwise signup would tell anyone,
        // as fast as they can ask, which usernames exist.
        Err(AccountError::Taken) => {
            page.username_problem = Some("That username is taken.");
            return Ok(FormResult::Conflict(render(&page)?));
        }
        Err(e) => {
            auth.store.take_back(&counter.key).await?;
            return Err(e.into());
        }
    };
    let greeting = format!("Welcome to memsess, {name}.");
    let arrival = Arrival {
        remember: false,
        label: client.0,
    };
    log_in(&session, &name, &account.password_hash, greeting, arrival).await?;
    // Sessions an earlier holder of the name left behind (a debug run's
    // demo user, in the same data folder) would be listed on the new
    // account's page; their stamps are stale, and they go now, as the
    // name's old orders went with `create`. Tidying only: they cannot act
    // for the new account, so a store that fails here does not fail a
    // signup that has happened.
    if let Err(e) = session.end_other_sessions().await {
        rocket::warn!("signup of {name}: the name's earlier sessions were not ended: {e}");
    }
    let key = auth.store.device_key().await?;
    device::issue(jar, auth.secure, &key, &name, &account.password_hash);
    Ok(FormResult::Done(Box::new(Redirect::to("/account"))))
}

/// Ends the session (its id is dead from now on) and shows the next page
/// a flash in a fresh session that holds only that message.
#[post("/logout", data = "<_form>")]
async fn logout(_form: CsrfForm<NoFields>, session: Session) -> Result<Redirect, AppError> {
    session.invalidate().await?;
    Flash::set(&session, FlashKind::Info, "You have been signed out.")?;
    session.save().await?;
    Ok(Redirect::to("/"))
}

/// Signup, login and logout.
pub fn routes() -> Vec<Route> {
    routes![login_page, login, signup_page, signup, logout]
}
