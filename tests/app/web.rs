//! A browser for real servers ([`crate::server::Server`]): it keeps every
//! cookie it is given (the session's and the device cookie), sends them
//! back, and fills in the session's CSRF token. Shared by `tests/app/`
//! and `tests/redis/`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::server::{HttpResponse, Server};

/// One browser: its cookie jar, and headers it adds to every request.
#[derive(Default)]
pub struct WebBrowser {
    jar: Mutex<BTreeMap<String, String>>,
    extra: Vec<(String, String)>,
}

/// `application/x-www-form-urlencoded` text of `pairs`.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the first `attr="..."` in `body`.
pub fn attr<'a>(body: &'a str, attr: &str) -> Option<&'a str> {
    let marker = format!("{attr}=\"");
    let start = body.find(&marker)? + marker.len();
    body[start..].split('"').next()
}

impl WebBrowser {
    pub fn new() -> Self {
        WebBrowser::default()
    }

    /// A browser that sends `name: value` with every request.
    pub fn with_header(name: &str, value: &str) -> Self {
        WebBrowser {
            extra: vec![(name.into(), value.into())],
            ..WebBrowser::default()
        }
    }

    /// The cookie `name`, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Sets (or with `None` forgets) a cookie by hand.
    pub fn set_cookie(&self, name: &str, value: Option<&str>) {
        let mut jar = self.jar.lock().unwrap();
        match value {
            Some(value) => jar.insert(name.into(), value.into()),
            None => jar.remove(name),
        };
    }

    fn send(&self, server: &Server, method: &str, path: &str, body: &str) -> HttpResponse {
        let cookies = {
            let jar = self.jar.lock().unwrap();
            jar.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut headers: Vec<(&str, &str)> = self
            .extra
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        if !cookies.is_empty() {
            headers.push(("Cookie", &cookies));
        }
        let response = server.request(method, path, &headers, body);
        let mut jar = self.jar.lock().unwrap();
        for (_, set) in response.headers.iter().filter(|(n, _)| n == "set-cookie") {
            let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            if value.is_empty() || set.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.into(), value.into());
            }
        }
        response
    }

    pub fn get(&self, server: &Server, path: &str) -> HttpResponse {
        self.send(server, "GET", path, "")
    }

    /// The session's CSRF token (the login page makes one if needed).
    pub fn token(&self, server: &Server) -> String {
        let page = self.get(server, "/login");
        attr(&page.body, "name=\"csrf_token\" value").map_or_else(
            || panic!("no CSRF token on /login: {}", page.status),
            str::to_owned,
        )
    }

    /// POSTs a form with a CSRF token already in `pairs` or none at all.
    pub fn post_raw(&self, server: &Server, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
        self.send(server, "POST", path, &encode(pairs))
    }

    /// POSTs a form with the session's CSRF token.
    pub fn post(&self, server: &Server, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
        let token = self.token(server);
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(server, path, &all)
    }

    pub fn login(&self, server: &Server, username: &str, password: &str) -> HttpResponse {
        self.post(
            server,
            "/login",
            &[("username", username), ("password", password)],
        )
    }

    pub fn signup(&self, server: &Server, username: &str, password: &str) -> HttpResponse {
        self.post(
            server,
            "/signup",
            &[("username", username), ("password", password)],
        )
    }

    /// Changes the signed-in user's password on the account page.
    pub fn change_password(&self, server: &Server, current: &str, new: &str) -> HttpResponse {
        self.post(
            server,
            "/account/password",
            &[("current_password", current), ("new_password", new)],
        )
    }

    /// Who the header says is signed in.
    pub fn user(&self, server: &Server) -> Option<String> {
        attr(&self.get(server, "/").body, "data-user").map(str::to_owned)
    }

    /// Fills the cart and checks out; returns the new order's id.
    pub fn buy(&self, server: &Server, product: &str, quantity: &str) -> String {
        let added = self.post(
            server,
            "/cart/add",
            &[("product_id", product), ("quantity", quantity)],
        );
        assert_eq!(added.status, 303);
        let placed = self.post(server, "/checkout", &[]);
        assert_eq!(placed.status, 303, "checkout: {}", placed.body);
        let target = placed.header("location").unwrap_or_default();
        target
            .strip_prefix("/orders/")
            .unwrap_or_else(|| panic!("checkout went to {target:?}"))
            .to_owned()
    }

    /// The number of items in the cart.
    pub fn cart_count(&self, server: &Server) -> u32 {
        attr(&self.get(server, "/cart").body, "data-cart-count")
            .expect("data-cart-count")
            .parse()
            .expect("a number")
    }

    /// The counter page's message.
    pub fn counter(&self, server: &Server) -> String {
        let body = self.get(server, "/counter").body;
        let start = body.find("data-counter-message>").expect("the message") + 21;
        body[start..]
            .split('<')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}
