//! `memsess hash-password` through the real binary, fed from a pipe.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use argon2::{Argon2, PasswordHash, PasswordVerifier as _};

/// Runs `memsess hash-password` with `input` on standard input.
fn hash_password(input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memsess"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the memsess binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input)
        .expect("write the password");
    child.wait_with_output().unwrap()
}

fn verifies(password: &str, phc: &str) -> bool {
    let hash = PasswordHash::new(phc).expect("a PHC string");
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

#[test]
fn a_piped_password_is_hashed_without_its_line_end() {
    for input in [
        "correct-horse-9\r\n",
        "correct-horse-9\n",
        "correct-horse-9",
    ] {
        let output = hash_password(input.as_bytes());
        assert!(output.status.success(), "{input:?}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let phc = stdout.trim_end_matches('\n');
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(stdout.lines().count(), 1, "only the hash: {stdout:?}");
        assert!(verifies("correct-horse-9", phc), "{input:?}");
        assert!(!verifies("correct-horse-9\r", phc), "{input:?}");
    }
}

#[test]
fn a_piped_password_that_breaks_the_rules_is_refused() {
    let output = hash_password(b"short\r\n");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("at least 8 characters"), "{said}");
}
