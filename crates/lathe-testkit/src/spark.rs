//! A real Apache Spark Connect server (Spark's own `SparkConnectServer`, `local[2]`), started
//! on 127.0.0.1 on a free port in a session of its own, once per test process, and stopped
//! (its whole process group) when the test process exits, however it exits.
//! `scripts/test.sh` installs pyspark, which ships Spark's jars, outside the clone and passes
//! its folder as `LATHE_SPARK_HOME`; Java comes from Debian's `openjdk-17-jre-headless`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running Spark Connect server.
#[derive(Debug)]
pub struct Server {
    /// `sc://127.0.0.1:PORT`
    pub url: String,
    _watchdog: Mutex<Child>,
    dir: tempfile::TempDir,
}

/// Spark's home (pyspark's package folder, with `bin/spark-submit` and `jars/`).
pub fn home() -> PathBuf {
    std::env::var_os("LATHE_SPARK_HOME")
        .map(PathBuf::from)
        .expect("Spark is not installed: run scripts/test.sh (it installs it), or set LATHE_SPARK_HOME to an installed pyspark package folder")
}

/// The one server of this test process, started by the first test that asks.
pub fn shared() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(Server::start)
}

impl Server {
    fn start() -> Server {
        Server::start_with_token("")
    }

    /// A server of its own (not [`shared`]) that accepts only clients sending `token` as a
    /// bearer token (Spark's `spark.connect.authenticate.token`; none when empty).
    pub fn start_with_token(token: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        // The shell starts Spark as the leader of a new process group, waits for this process
        // to end, then stops the group.
        let script = format!(
            r#"SPARK_HOME="$0" SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$2" SPARK_PID_DIR="$2" \
               setsid "$0/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
                 --name lathe-tests --master 'local[2]' --driver-memory 2g \
                 --conf spark.connect.grpc.binding.address=127.0.0.1 \
                 --conf spark.connect.grpc.binding.port={port} \
                 --conf spark.ui.enabled=false --conf spark.driver.bindAddress=127.0.0.1 \
                 --conf spark.driver.host=127.0.0.1 --conf spark.sql.shuffle.partitions=4 \
                 --conf spark.sql.session.timeZone=UTC \
                 --conf spark.driver.extraJavaOptions=-Djava.io.tmpdir="$2" \
                 ${{3:+--conf spark.connect.authenticate.token="$3"}} >"$1" 2>&1 &
               w=$!
               while kill -0 {parent} 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 0.2; done
               kill -TERM -$w 2>/dev/null
               for _ in $(seq 50); do kill -0 -$w 2>/dev/null || break; sleep 0.1; done
               kill -KILL -$w 2>/dev/null; wait $w; rm -rf "$2""#,
            parent = std::process::id()
        );
        let watchdog = Process::new("sh")
            .arg("-c")
            .arg(script)
            .arg(home())
            .arg(dir.path().join("spark.log"))
            .arg(dir.path())
            .arg(token)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            url: format!("sc://127.0.0.1:{port}"),
            _watchdog: Mutex::new(watchdog),
            dir,
        };
        server.wait_ready(port);
        server
    }

    /// Until the log says the Connect service listens and its port accepts connections.
    fn wait_ready(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let log = self.log();
            if log.contains("Spark Connect server started")
                && TcpStream::connect_timeout(
                    &([127, 0, 0, 1], port).into(),
                    Duration::from_secs(2),
                )
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Spark Connect server did not start in 180 s:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("spark.log")).unwrap_or_default()
    }
}
