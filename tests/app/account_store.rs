//! The file account store: the shared contract, one instance per users
//! file (with real processes), what survives a crash, and refusals at
//! launch.

use std::sync::Arc;

use memsess::auth::store::{AccountStore, DemoAccounts, FileStore};

use crate::account_conformance::{run_all, HASH_A};
use crate::server::{empty_dir, launch_output, Server};
use crate::web::{attr, WebBrowser};

#[rocket::async_test]
async fn the_file_store_keeps_the_account_store_contract() {
    let dir = empty_dir();
    run_all(|| {
        let path = dir.join("users.json");
        async move {
            Arc::new(FileStore::open(&path, DemoAccounts::none()).unwrap()) as Arc<dyn AccountStore>
        }
    })
    .await;
}

/// The process id of the server running in `server.dir` (each test
/// server has a folder of its own as its working directory).
pub fn pid_of(server: &Server) -> u32 {
    let dir = server.dir.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cwd = std::fs::read_link(entry.path().join("cwd")).ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            (cwd == dir && exe.ends_with("memsess")).then_some(pid)
        })
        .next()
        .expect("the server's process")
}

/// Everything a launch printed.
#[test]
fn a_second_process_on_one_users_file_refuses_to_launch_until_the_first_dies() {
    let dir = empty_dir();
    let first = Server::start_in(dir.clone(), &[]);
    let owner = WebBrowser::new();
    assert_eq!(owner.signup(&first, "carol", "carols-password").status, 303);
    let order = owner.buy(&first, "padlock", "2");

    let (launched, said) = launch_output(&dir, &[]);
    assert!(
        !launched,
        "a second instance launched on the same users file"
    );
    assert!(
        said.contains("auth.store"),
        "the refusal names auth.store:\n{said}"
    );

    // A crash (kill -9) releases the lock: the OS drops it with the process.
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid_of(&first).to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let second = Server::start_in(dir.clone(), &[]);
    // The account and its order survived the crash.
    let back = WebBrowser::new();
    assert_eq!(back.login(&second, "carol", "carols-password").status, 303);
    let page = back.get(&second, &format!("/orders/{order}"));
    assert_eq!(page.status, 200);
    assert_eq!(attr(&page.body, "data-order-id"), Some(order.as_str()));
    drop(second);
    drop(first);
}

#[test]
fn a_hand_edited_users_file_with_a_bad_entry_refuses_to_launch_naming_it() {
    for (entry, named) in [
        (
            format!("\"Bob\": {{\"password_hash\": \"{HASH_A}\", \"created_ms\": 1}}"),
            "\"Bob\"",
        ),
        (
            "\"bob\": {\"password_hash\": \"hunter2\", \"created_ms\": 1}".to_owned(),
            "\"bob\"",
        ),
        (
            format!("\"b\": {{\"password_hash\": \"{HASH_A}\", \"created_ms\": 1}}"),
            "\"b\"",
        ),
    ] {
        let dir = empty_dir();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(
            dir.join("data/users.json"),
            format!("{{\"users\": {{{entry}}}}}"),
        )
        .unwrap();
        let (launched, said) = launch_output(&dir, &[]);
        assert!(!launched, "{entry} launched");
        assert!(
            said.contains(named) && said.contains("auth.users_file"),
            "{entry}: the output does not name the entry and the key:\n{said}"
        );
    }
}

#[test]
fn a_bad_auth_store_stops_the_launch_naming_the_key() {
    for value in [
        "{store=\"memcache://x\"}",
        "{store=\"redis://no host:x/\"}",
        "{store=5}",
    ] {
        let (launched, said) = launch_output(&empty_dir(), &[("ROCKET_AUTH", value)]);
        assert!(!launched, "{value} launched");
        assert!(said.contains("auth.store"), "{value}:\n{said}");
    }
}

#[test]
fn the_launch_names_the_account_store_and_warns_but_starts_when_redis_does_not_answer() {
    // A loopback port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:secret@127.0.0.1:{port}/");
    let auth = format!("{{store=\"{url}\"}}");
    // It launches (`start` waits for that), naming the store and warning.
    let server = Server::start(&[("ROCKET_AUTH", &auth)]);
    let said = server.log_with("does not answer");
    let named = format!("account store: redis redis://:***@127.0.0.1:{port}/");
    assert!(said.contains(&named), "names the store:\n{said}");
    assert!(!said.contains("secret"), "never the password:\n{said}");
    assert!(said.contains("does not answer"), "warns:\n{said}");
}
