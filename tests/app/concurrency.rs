//! No lost updates, and no session brought back by a late save.

use rocket::futures::future::join_all;
use rocket::http::Status;

use crate::helpers::{async_client, store_has, store_of, Gate};

/// One `/test/incr` request: the counter's new value.
async fn incr(client: &rocket::local::asynchronous::Client) -> String {
    client
        .get("/test/incr")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap()
}

#[rocket::async_test]
async fn fifty_concurrent_increments_of_one_session_all_count() {
    let client = async_client(&[]).await;
    assert_eq!(incr(&client).await, "1");

    let requests = (0..50).map(|_| async { client.get("/test/incr").dispatch().await.status() });
    let statuses = join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == Status::Ok), "{statuses:?}");

    let last = incr(&client).await;
    assert_eq!(last, "52");
}

#[rocket::async_test]
async fn a_request_waits_for_a_running_one_so_its_invalidate_is_final() {
    let client = async_client(&[]).await;
    client.get("/test/incr").dispatch().await;
    let gate = client.rocket().state::<Gate>().unwrap();

    // A loads the session and stops before saving; B invalidates meanwhile.
    let slow = client.get("/test/slow-incr").dispatch();
    let invalidate = async {
        gate.loaded.notified().await;
        let b = client.get("/test/invalidate").dispatch();
        // B must wait for A's lease; let A finish while B waits.
        gate.proceed.notify_one();
        b.await
    };
    let (a, b) = tokio::join!(slow, invalidate);
    assert_eq!(a.status(), Status::Ok);
    assert_eq!(b.status(), Status::Ok);

    // B ran after A, so the session is gone, not revived by A's save.
    let after = incr(&client).await;
    assert_eq!(after, "1");
}

#[rocket::async_test]
async fn a_late_save_cannot_bring_back_a_session_ended_elsewhere() {
    let client = async_client(&[]).await;
    client.get("/test/incr").dispatch().await;
    let id = client.cookies().get("gsid").unwrap().value().to_owned();
    let store = store_of(client.rocket());
    let gate = client.rocket().state::<Gate>().unwrap();

    // A request is between load and save when the session is ended
    // without its lease ("sign out everywhere else" does that).
    let slow = client.get("/test/slow-incr").dispatch();
    let end_elsewhere = async {
        gate.loaded.notified().await;
        let id: memsess::session::SessionId = id.parse().unwrap();
        store.remove(&id.key()).await.unwrap();
        gate.proceed.notify_one();
    };
    let (late, ()) = tokio::join!(slow, end_elsewhere);

    // Its save is refused and the session stays gone.
    assert_eq!(late.status(), Status::Conflict);
    let removal: Vec<_> = late.headers().get("Set-Cookie").collect();
    assert!(
        removal.iter().any(|c| c.contains("Max-Age=0")),
        "{removal:?}"
    );
    assert!(!store_has(&store, &id).await);
}
