//! The client against a real Spark Connect server (see lathe-testkit's `spark`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lathe_spark::{Address, Error, Kind, Session, Source};
use polars::prelude::*;

fn session() -> Session {
    Session::connect(&Address::parse(&lathe_testkit::spark::shared().url).unwrap()).unwrap()
}

#[test]
fn queries_answer_as_polars_frames_and_views_read_files_the_server_sees() {
    let mut s = session();
    let frame = s
        .sql(
            "SELECT 1 AS a, 'x' AS b, CAST(NULL AS DOUBLE) AS c",
            &|| false,
        )
        .unwrap();
    assert_eq!(frame.shape(), (1, 3));
    assert_eq!(frame.column("a").unwrap().i32().unwrap().get(0), Some(1));
    assert_eq!(frame.column("b").unwrap().str().unwrap().get(0), Some("x"));
    assert_eq!(frame.column("c").unwrap().null_count(), 1);

    // Many batches: more rows than one Arrow batch holds.
    let many = s
        .sql(
            "SELECT id, repeat('v', 100) AS t FROM range(200000)",
            &|| false,
        )
        .unwrap();
    assert_eq!(many.height(), 200_000);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let mut df =
        df!("n" => [1i64, 2, 3], "f" => [0.5f64, f64::NAN, 2.0], "s" => ["a", "b", "a"]).unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let source = Source::Files {
        path: path.to_str().unwrap().into(),
        format: "parquet".into(),
    };
    s.create_view("t", &source).unwrap();
    let schema = s.schema("t").unwrap();
    let kinds: Vec<(&str, &Kind)> = schema.iter().map(|f| (f.name.as_str(), &f.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("n", &Kind::Int(64)),
            ("f", &Kind::Float(64)),
            ("s", &Kind::Text)
        ]
    );
    let sum = s.sql("SELECT sum(n) AS total FROM t", &|| false).unwrap();
    assert_eq!(sum.column("total").unwrap().i64().unwrap().get(0), Some(6));
}

#[test]
fn missing_tables_servers_and_cancelled_queries_are_clear_errors() {
    let mut s = session();
    let e = s
        .create_view("v", &Source::Table("no_such_db.no_such_table".into()))
        .unwrap_err();
    assert!(matches!(e, Error::Query { .. }), "{e}");
    assert!(e.to_string().contains("no_such_table"), "{e}");

    let e = s
        .create_view(
            "v",
            &Source::Files {
                path: "/nonexistent/x.parquet".into(),
                format: "parquet".into(),
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/x.parquet"), "{e}");

    let port = lathe_testkit::free_port();
    let e = Session::connect(&Address::parse(&format!("sc://127.0.0.1:{port}")).unwrap())
        .and_then(|mut s| s.sql("SELECT 1", &|| false))
        .unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");

    // A query that would run for half a minute stops within seconds of being cancelled, and
    // the interrupt stops its job on the server: the session's next query answers at once.
    // (Measured with the interrupt left out: that next query waited 30 s, until the job ended
    // by itself; with it, 0.6 s.)
    let start = Instant::now();
    let e = s
        .sql("SELECT sum(hash(id)) FROM range(20000000000)", &|| {
            start.elapsed() > Duration::from_secs(2)
        })
        .unwrap_err();
    assert!(matches!(e, Error::Cancelled), "{e}");
    let cancelled = start.elapsed();
    assert!(cancelled < Duration::from_secs(15), "{cancelled:?}");
    assert_eq!(s.sql("SELECT 2 AS x", &|| false).unwrap().height(), 1);
    let next = start.elapsed() - cancelled;
    assert!(
        next < Duration::from_secs(10),
        "the next query waited {next:?}: the cancelled job still ran on the server"
    );
}

/// A server that requires a token (`spark.connect.authenticate.token`): the address's token is
/// sent as a bearer token and accepted; no token or a wrong one is refused as denied, by the
/// address and without the token.
#[test]
fn a_server_that_requires_a_token_takes_it_from_the_address() {
    let server = lathe_testkit::spark::Server::start_with_token("lathe-test-token");
    let connect = |token: Option<&str>| {
        let url = match token {
            Some(t) => format!("{}/;token={t};use_ssl=false", server.url),
            None => server.url.clone(),
        };
        Session::connect(&Address::parse(&url).unwrap())
            .and_then(|mut s| s.sql("SELECT 7 AS x", &|| false))
    };
    let frame = connect(Some("lathe-test-token")).unwrap();
    assert_eq!(frame.column("x").unwrap().i32().unwrap().get(0), Some(7));
    for token in [None, Some("not-the-token")] {
        let e = connect(token).unwrap_err();
        assert!(matches!(e, Error::Denied { .. }), "{token:?}: {e}");
        let text = e.to_string();
        assert!(text.contains(&server.url.replace("sc://", "")), "{text}");
        assert!(!text.contains("not-the-token"), "{text}");
    }
}
