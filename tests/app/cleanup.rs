//! Tests clean up after themselves: the folders they make are gone when
//! they end, whether they pass or fail.

use std::sync::mpsc;

use crate::server::empty_dir;

#[test]
fn a_test_that_fails_leaves_no_folder_behind() {
    let (tx, rx) = mpsc::channel();
    // A thread stands in for a test: libtest runs each on its own.
    let failed = std::thread::spawn(move || {
        let dir = empty_dir();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("data").join("users.json"), "{}").unwrap();
        tx.send(dir).unwrap();
        panic!("a test that fails");
    })
    .join();
    assert!(failed.is_err());
    let dir = rx.recv().unwrap();
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn a_test_that_passes_leaves_no_folder_behind_and_keeps_its_own_until_it_ends() {
    let mine = empty_dir();
    let theirs = std::thread::spawn(empty_dir).join().unwrap();
    assert!(!theirs.exists(), "{} is still there", theirs.display());
    assert!(mine.is_dir(), "this test's folder lasts until it ends");
}
