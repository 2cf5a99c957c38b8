//! SHA-256 throughput of the hasher bundles use (sha2; SHA-NI when the CPU has it), on the
//! bytes of FILE already in memory: `cargo run --release -p lathe-core --example
//! hash_throughput -- FILE`. Run by `tests/bench/bundle.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: hash_throughput FILE");
    let bytes = std::fs::read(&path).expect("read FILE");
    let mut best = f64::INFINITY;
    let mut digest = String::new();
    for _ in 0..5 {
        let start = std::time::Instant::now();
        digest = hex::encode(Sha256::digest(&bytes));
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{:.2} GB/s  ({} bytes in {:.3} s, best of 5; sha256 {digest})",
        bytes.len() as f64 / best / 1e9,
        bytes.len(),
        best
    );
}
