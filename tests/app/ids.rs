//! Session ids: distinct, fixed length, URL-safe, and at least 128 random bits.

use std::collections::HashSet;

use rocket::local::blocking::Client;

use crate::helpers::{app, issued_id};

fn fresh_ids(n: usize) -> Vec<String> {
    // Untracked: every request is a new visitor.
    let client = Client::untracked(app(&[])).unwrap();
    (0..n)
        .map(|_| issued_id(client.get("/counter").dispatch().headers()).expect("a new session"))
        .collect()
}

fn decode(id: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .expect("base64url")
}

#[test]
fn a_thousand_new_sessions_get_a_thousand_distinct_url_safe_ids_of_one_length() {
    let ids = fresh_ids(1000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1000);
    for id in &ids {
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}"
        );
        assert!(decode(id).len() * 8 >= 128);
    }
}

#[test]
fn every_bit_of_the_id_varies_as_randomness_would() {
    // With n random ids each bit is set about n/2 times; a bit that is
    // fixed or derived from few random bits (gmemsess had 45) shows up here.
    let ids: Vec<Vec<u8>> = fresh_ids(1000).iter().map(|id| decode(id)).collect();
    let bits = ids[0].len() * 8;
    assert!(bits >= 128);
    for bit in 0..bits {
        let set = ids
            .iter()
            .filter(|id| id[bit / 8] & (1 << (bit % 8)) != 0)
            .count();
        assert!(
            (380..=620).contains(&set),
            "bit {bit} set in {set} of 1000 ids"
        );
    }
}
