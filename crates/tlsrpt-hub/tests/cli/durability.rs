//! A 2xx means committed (RFC 8460 §5.4 senders stop retrying after it): SIGKILL `serve`
//! while 8 clients POST distinct reports as fast as it takes them, restart it on the same
//! database, and every report that got a 2xx must be there, the database consistent.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tlsrpt_core::report::{dedup_key, parse_report};

use crate::serve_http::Server;
use crate::{corpus, gzip, with_store};

const CLIENTS: usize = 8;
const UNLIMITED: &str = "rate_limit = { per_minute = 100000000, burst = 100000000 }";

fn report_json(id: &str) -> String {
    std::fs::read_to_string(corpus("rfc8460-appendix-b.json"))
        .unwrap()
        .replace("5065427c-23d3-47ca-b6e0-946ea0e8c4be", id)
}

/// One POST on its own connection; the status, or `None` when the server is gone.
fn post(port: u16, body: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let head = format!(
        "POST /v1/tlsrpt HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/tlsrpt+gzip\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let status = std::str::from_utf8(answer.get(9..12)?).ok()?;
    status.parse().ok()
}

#[test]
fn every_acknowledged_post_survives_sigkill() {
    let server = Server::start(UNLIMITED, "unknown_domains = \"accept\"");
    let port = server.port;
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let answered = Arc::clone(&answered);
            std::thread::spawn(move || {
                // Until the server is gone.
                let mut acknowledged = Vec::new();
                for n in 0.. {
                    let id = format!("durability-{client}-{n}");
                    match post(port, &gzip(report_json(&id).as_bytes())) {
                        Some(status) if (200..300).contains(&status) => acknowledged.push(id),
                        Some(status) => panic!("{id}: unexpected status {status}"),
                        None => break,
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                acknowledged
            })
        })
        .collect();
    // Kill once the load is well under way, so requests are in flight at every stage.
    while answered.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.signal("KILL");
    let acknowledged: Vec<String> = clients
        .into_iter()
        .flat_map(|client| client.join().expect("client thread"))
        .collect();
    let dir = server.dir;

    let server = Server::start_in(dir, UNLIMITED, "unknown_domains = \"accept\"");
    assert_eq!(
        post(server.port, report_json("after-restart").as_bytes()),
        Some(201)
    );
    let stopped = server.stop();
    let counts = stopped.counts();
    assert!(
        counts.reports as usize > acknowledged.len(),
        "{counts:?} vs {} acknowledged",
        acknowledged.len()
    );
    with_store(&stopped.0.path().join("hub.db"), async |store| {
        for id in &acknowledged {
            let parsed = parse_report(report_json(id).as_bytes()).unwrap();
            let found = store
                .report_by_dedup_key(&dedup_key(&parsed.report))
                .await
                .unwrap();
            assert!(found.is_some(), "{id} was acknowledged but is not stored");
        }
    });
}
