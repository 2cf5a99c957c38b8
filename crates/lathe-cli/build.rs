//! Links `lathe` as a position-dependent executable: a PIE of this size carries ~120,000
//! relocations that the loader applies at every start (several milliseconds here, more than a
//! small command's own work).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
