//! Compiles Spark Connect's protocol (the `.proto` files vendored in `proto/`, from Apache
//! Spark 4.3.0) into Rust with a pure-Rust protobuf compiler, so no `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = protox::compile(["spark/connect/base.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .compile_fds(files)?;
    Ok(())
}
