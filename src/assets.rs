//! Static files, compiled into the binary so it runs from any directory.
//!
//! Every file under `static/` is listed in [`ASSETS`] (a test checks that
//! none is missing). Responses carry a content type with a charset where it
//! applies and may be cached for an hour; they never touch the session, so
//! they never set a cookie.

use std::path::PathBuf;

use rocket::http::{ContentType, Header};
use rocket::response::Responder;
use rocket::{get, routes, Route};

/// Each file's path under `static/` and its bytes.
pub const ASSETS: &[(&str, &[u8])] = &[
    ("style.css", include_bytes!("../static/style.css")),
    ("favicon.svg", include_bytes!("../static/favicon.svg")),
    (
        "products/rocket-mug.svg",
        include_bytes!("../static/products/rocket-mug.svg"),
    ),
    (
        "products/ferris-plush.svg",
        include_bytes!("../static/products/ferris-plush.svg"),
    ),
    (
        "products/cookie-jar.svg",
        include_bytes!("../static/products/cookie-jar.svg"),
    ),
    (
        "products/hourglass.svg",
        include_bytes!("../static/products/hourglass.svg"),
    ),
    (
        "products/padlock.svg",
        include_bytes!("../static/products/padlock.svg"),
    ),
    (
        "products/tote-bag.svg",
        include_bytes!("../static/products/tote-bag.svg"),
    ),
    (
        "products/sticker-pack.svg",
        include_bytes!("../static/products/sticker-pack.svg"),
    ),
    (
        "products/hoodie.svg",
        include_bytes!("../static/products/hoodie.svg"),
    ),
];

/// A static file with its caching header.
#[derive(Responder)]
struct Asset {
    body: (ContentType, &'static [u8]),
    cache: Header<'static>,
}

fn content_type(path: &str) -> ContentType {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => ContentType::new("text", "css").with_params(("charset", "utf-8")),
        Some("svg") => ContentType::SVG,
        Some("png") => ContentType::PNG,
        Some("js") => ContentType::JavaScript,
        _ => ContentType::Binary,
    }
}

#[get("/static/<path..>")]
fn asset(path: PathBuf) -> Option<Asset> {
    let path = path.to_str()?;
    let (_, body) = ASSETS.iter().find(|(name, _)| *name == path)?;
    Some(Asset {
        body: (content_type(path), body),
        cache: Header::new("Cache-Control", "public, max-age=3600"),
    })
}

/// The static file route.
pub fn routes() -> Vec<Route> {
    routes![asset]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_static_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .replace('\\', "/");
                    assert!(
                        ASSETS.iter().any(|(n, _)| *n == name),
                        "static/{name} is not in ASSETS"
                    );
                }
            }
        }
    }
}
