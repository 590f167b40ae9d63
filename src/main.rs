//! The memsess binary.
//!
//! - `memsess` serves the app.
//! - `memsess hash-password` prints the argon2id PHC string of a password,
//!   for editing the users file by hand. Typed at a terminal, the password
//!   is read without echo, twice, so a typo cannot slip into the file
//!   unseen; the prompts go to the terminal, so standard output carries
//!   only the hash. From a pipe (`printf '%s\n' "$PW" | memsess
//!   hash-password`) it is the first line of standard input, without its
//!   line end (`\n` or `\r\n`).

use std::io::{BufRead as _, IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;

/// mimalloc keeps memory per live session at about a third of what glibc's
/// allocator leaves behind (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use memsess::auth::password::hash_blocking;
use memsess::auth::validate::password_problem;

/// More than any valid password (128 characters of up to 4 bytes), so a
/// stream without line ends is not read into memory whole.
const MAX_LINE_BYTES: u64 = 4096;

/// A line without its line end: `\n`, or `\r\n` as Windows tools write.
fn without_line_end(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The password, from the terminal without echo or from a pipe.
fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_LINE_BYTES)
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    Ok(without_line_end(&line).to_owned())
}

fn hash_password() -> ExitCode {
    let password = match read_password() {
        Ok(password) => password,
        Err(e) => {
            eprintln!("memsess: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(problem) = password_problem(&password) {
        eprintln!("memsess: {problem}");
        return ExitCode::FAILURE;
    }
    let _ = writeln!(std::io::stdout(), "{}", hash_blocking(&password));
    ExitCode::SUCCESS
}

/// Serves until a graceful stop, then writes the session snapshot once
/// more: the shutdown fairing wrote one while the last connections were
/// closing, and anything they changed after it is saved here.
async fn serve() -> Result<(), rocket::Error> {
    let rocket = memsess::rocket().launch().await?;
    if let Some(sessions) = rocket.state::<memsess::session::Sessions>() {
        if let Err(e) = sessions.store.flush().await {
            eprintln!("memsess: writing the session snapshot at exit: {e}");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => match rocket::execute(serve()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // Logs what went wrong (a bad config key, a port in use) and
                // marks the error handled, so it does not panic on drop.
                e.pretty_print();
                ExitCode::FAILURE
            }
        },
        Some("hash-password") => hash_password(),
        Some("help" | "-h" | "--help") => {
            println!("usage: memsess [hash-password]\n  (no argument)  serve the app (see README.md)\n  hash-password  read a password and print its argon2id hash, for the users file");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("memsess: unknown command {other:?}\nusage: memsess [hash-password]");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_line_end;

    #[test]
    fn line_ends_are_dropped_and_nothing_else() {
        assert_eq!(without_line_end("pw\r\n"), "pw");
        assert_eq!(without_line_end("pw\n"), "pw");
        assert_eq!(without_line_end("pw"), "pw");
        assert_eq!(without_line_end("pw\r"), "pw");
        assert_eq!(without_line_end(" pw \n"), " pw ");
    }
}
