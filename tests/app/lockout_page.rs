//! The 429 page: one clear sentence with the time to wait.

use rocket::http::Status;

use crate::helpers::{client, post_form};

/// The page's text between `<main` and `</main>`, without tags.
fn main_text(body: &str) -> String {
    let main = &body[body.find("<main").unwrap()..body.find("</main>").unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in main.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_lockout_page_says_once_how_long_to_wait() {
    let client = client(&[("auth.max_failed_logins", 1), ("auth.lockout_seconds", 900)]);
    let pairs = [("username", "alice"), ("password", "wrong-password")];
    assert_eq!(
        post_form(&client, "/login", &pairs).status(),
        Status::Unauthorized
    );
    let locked = post_form(&client, "/login", &pairs);
    assert_eq!(locked.status(), Status::TooManyRequests);
    let retry: u64 = locked
        .headers()
        .get_one("Retry-After")
        .unwrap()
        .parse()
        .unwrap();
    let text = main_text(&locked.into_string().unwrap());

    // The wait is a whole number of minutes, in words, on one line.
    let minutes = retry.div_ceil(60);
    assert_eq!(minutes, 15, "Retry-After {retry}");
    let sentence = "Too many attempts. Try again in 15 minutes.";
    assert_eq!(text.matches(sentence).count(), 1, "{text}");
    assert!(!text.contains("minute(s)"), "{text}");
    assert_eq!(text.matches("Try again").count(), 1, "{text}");
    assert!(!text.contains("Wait a little"), "{text}");
}
