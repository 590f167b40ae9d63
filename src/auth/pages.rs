//! Signup, login and logout.

use askama::Template;
use rocket::form::FromForm;
use rocket::response::content::RawHtml;
use rocket::response::{Redirect, Responder};
use rocket::{get, post, routes, Route, State};

use super::users::{CreateError, DEMO_USERS};
use super::validate::{fold_username, local_path, password_problem, username_problem};
use super::{log_in, Auth};
use crate::csrf::{self, CsrfForm, NoFields};
use crate::error::AppError;
use crate::page::{render, Chrome};
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

#[get("/login?<next>")]
pub async fn login_page(
    next: Option<&str>,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
) -> Result<RawHtml<String>, AppError> {
    render(&LoginPage {
        chrome,
        csrf_token: csrf::token(&session).await?,
        username: String::new(),
        next: next.and_then(local_path).unwrap_or_default().to_owned(),
        problem: None,
        demo_users: demo_users(auth),
    })
}

#[post("/login", data = "<form>")]
async fn login(
    form: CsrfForm<LoginForm>,
    session: Session,
    chrome: Chrome,
    auth: &State<Auth>,
) -> Result<FormResult, AppError> {
    let LoginForm {
        username,
        password,
        next,
    } = form.0;
    let name = fold_username(&username);
    if let Some(seconds) = auth.lockout.locked_for(&name).await {
        return Err(AppError::TooManyAttempts(seconds));
    }
    let hash = auth.users.password_hash(&name).await;
    if !auth.hasher.verify(password, hash).await {
        auth.lockout.record_failure(&name).await;
        let page = LoginPage {
            chrome,
            csrf_token: csrf::token(&session).await?,
            username,
            next: next
                .as_deref()
                .and_then(local_path)
                .unwrap_or_default()
                .to_owned(),
            problem: Some(LOGIN_FAILED),
            demo_users: demo_users(auth),
        };
        return Ok(FormResult::Unauthorized(render(&page)?));
    }
    auth.lockout.clear(&name).await;
    log_in(&session, &name, format!("Welcome back, {name}.")).await?;
    let target = next
        .as_deref()
        .and_then(local_path)
        .unwrap_or("/account")
        .to_owned();
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
) -> Result<FormResult, AppError> {
    let SignupForm { username, password } = form.0;
    let name = fold_username(&username);
    let mut page = SignupPage {
        chrome,
        csrf_token: csrf::token(&session).await?,
        username,
        username_problem: username_problem(&name),
        password_problem: password_problem(&password),
    };
    if page.username_problem.is_some() || page.password_problem.is_some() {
        return Ok(FormResult::Invalid(render(&page)?));
    }
    // Checked again under the store's lock; this spares a hash.
    let taken = auth.users.password_hash(&name).await.is_some();
    let created = if taken {
        Err(CreateError::Taken)
    } else {
        auth.users
            .create(&name, auth.hasher.hash(password).await)
            .await
    };
    match created {
        Ok(()) => {}
        Err(CreateError::Taken) => {
            page.username_problem = Some("That username is taken.");
            return Ok(FormResult::Conflict(render(&page)?));
        }
        Err(CreateError::Io(e)) => {
            rocket::error!("saving an account: {e}");
            return Err(AppError::Unavailable(
                "Accounts cannot be saved right now. Please try again later.".into(),
            ));
        }
    }
    log_in(&session, &name, format!("Welcome to memsess, {name}.")).await?;
    Ok(FormResult::Done(Box::new(Redirect::to("/account"))))
}

/// Ends the session: the store entry goes, the cookie is removed.
#[post("/logout", data = "<_form>")]
async fn logout(_form: CsrfForm<NoFields>, session: Session) -> Result<Redirect, AppError> {
    session.invalidate().await?;
    Ok(Redirect::to("/"))
}

/// Signup, login and logout.
pub fn routes() -> Vec<Route> {
    routes![login_page, login, signup_page, signup, logout]
}
