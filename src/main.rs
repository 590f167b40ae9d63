//! The memsess binary.
//!
//! - `memsess` serves the app.
//! - `memsess hash-password` reads a password from standard input and
//!   prints its argon2id PHC string, for editing the users file by hand.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

/// mimalloc keeps memory per live session at about a third of what glibc's
/// allocator leaves behind (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use memsess::auth::password::hash_blocking;
use memsess::auth::validate::password_problem;

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("memsess: reading the password: {e}");
        return ExitCode::FAILURE;
    }
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if let Some(problem) = password_problem(password) {
        eprintln!("memsess: {problem}");
        return ExitCode::FAILURE;
    }
    let _ = writeln!(std::io::stdout(), "{}", hash_blocking(password));
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => match rocket::execute(memsess::rocket().launch()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                // Logs what went wrong (a bad config key, a port in use) and
                // marks the error handled, so it does not panic on drop.
                e.pretty_print();
                ExitCode::FAILURE
            }
        },
        Some("hash-password") => hash_password(),
        Some(other) => {
            eprintln!("memsess: unknown command {other:?}\nusage: memsess [hash-password]");
            ExitCode::from(2)
        }
    }
}
