//! What Rocket's form errors say about a body's size: over a limit (413)
//! or cut off by its sender (a malformed form, 422). Rocket gives both the
//! same 413 when a multipart body ends before its closing boundary, so
//! the body's declared length tells them apart.

use rocket::form;
use rocket::http::Status;
use rocket::Request;

/// What a form's errors say about its body's size.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Size {
    /// Nothing about its size.
    #[default]
    Fine,
    /// A multipart body that ended before its closing boundary: Rocket
    /// gives the same length error without bounds (and 413) whether its
    /// sender cut it off or the limit did ([`too_large`] tells).
    Incomplete,
    /// A body or field over its limit.
    Over,
}

impl Size {
    pub(super) fn of(error: &form::Error<'_>) -> Size {
        use form::error::ErrorKind::InvalidLength;
        if error.status() != Status::PayloadTooLarge {
            Size::Fine
        } else if matches!(
            error.kind,
            InvalidLength {
                min: None,
                max: None
            }
        ) {
            Size::Incomplete
        } else {
            Size::Over
        }
    }
}

/// Whether a form whose errors say `size` was over its limit. An
/// incomplete body was cut by the limit unless it declared a length within
/// the limit (then its sender cut it off, and it is a malformed form).
/// Without a declared length, Rocket's reading stands.
pub(super) fn too_large(req: &Request<'_>, size: Size) -> bool {
    match size {
        Size::Fine => false,
        Size::Over => true,
        Size::Incomplete => {
            let limit = req
                .limits()
                .get("data-form")
                .unwrap_or(rocket::data::Limits::DATA_FORM);
            let declared = req.headers().get_one("Content-Length");
            declared
                .and_then(|length| length.trim().parse::<u64>().ok())
                .is_none_or(|length| length > limit.as_u64())
        }
    }
}
