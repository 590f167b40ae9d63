//! The memsess binary: serves the app.

#[rocket::launch]
fn launch() -> _ {
    memsess::rocket()
}
