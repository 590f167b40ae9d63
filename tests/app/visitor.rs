//! A browser of the real binary: its session cookie and the CSRF token of
//! its forms, sent by hand, kept across responses and across restarts of
//! the server (each call names the server it talks to).

use crate::server::{HttpResponse, Server};

/// One browser.
pub struct Visitor {
    /// The session cookie as `gsid=<id>`, if the browser holds one.
    pub cookie: Option<String>,
    /// The CSRF token of the last form seen.
    pub token: String,
}

/// The value of `attr="…"` on the first element that has it.
pub fn attr<'a>(body: &'a str, attr: &str) -> Option<&'a str> {
    let marker = format!("{attr}=\"");
    let start = body.find(&marker)? + marker.len();
    body[start..].split('"').next()
}

impl Visitor {
    /// Opens the shop's front page, which starts a session for its forms.
    pub fn arrive(server: &Server) -> Visitor {
        let mut visitor = Visitor {
            cookie: None,
            token: String::new(),
        };
        let home = visitor.get(server, "/");
        assert!(visitor.cookie.is_some(), "the front page starts a session");
        visitor.token = crate::helpers::csrf_in(&home.body);
        visitor
    }

    /// Keeps what a response says about the cookie, as a browser would.
    fn adopt(&mut self, response: &HttpResponse) {
        for (name, value) in &response.headers {
            if name != "set-cookie" {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            if let Some(id) = pair.strip_prefix("gsid=") {
                self.cookie = (!id.is_empty()).then(|| pair.to_owned());
            }
        }
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        self.cookie.iter().map(|c| ("Cookie", c.as_str())).collect()
    }

    pub fn get(&mut self, server: &Server, path: &str) -> HttpResponse {
        let response = server.request("GET", path, &self.headers(), "");
        self.adopt(&response);
        response
    }

    /// POSTs a form with this browser's CSRF token.
    pub fn post(&mut self, server: &Server, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
        let mut all = vec![("csrf_token", self.token.as_str())];
        all.extend_from_slice(pairs);
        let body = crate::helpers::form(&all);
        let response = server.request("POST", path, &self.headers(), &body);
        self.adopt(&response);
        response
    }

    /// Logs in as a demo user and reads the renewed CSRF token.
    pub fn login(&mut self, server: &Server, username: &str, password: &str) {
        let response = self.post(
            server,
            "/login",
            &[("username", username), ("password", password)],
        );
        assert_eq!(response.status, 303, "login as {username}");
        let account = self.get(server, "/account");
        self.token = crate::helpers::csrf_in(&account.body);
    }

    /// Who the page header says is signed in.
    pub fn user(&mut self, server: &Server) -> Option<String> {
        attr(&self.get(server, "/").body, "data-user").map(str::to_owned)
    }

    /// The number of items in the cart.
    pub fn cart_count(&mut self, server: &Server) -> u32 {
        attr(&self.get(server, "/cart").body, "data-cart-count")
            .expect("data-cart-count")
            .parse()
            .expect("a number")
    }

    /// The counter page's message.
    pub fn counter(&mut self, server: &Server) -> String {
        let body = self.get(server, "/counter").body;
        let start = body.find("data-counter-message>").expect("the message") + 21;
        body[start..]
            .split('<')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}
