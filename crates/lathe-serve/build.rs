//! Compiles the Open Inference Protocol's gRPC service (`proto/grpc_predict_v2.proto`) with
//! a pure-Rust protobuf compiler, as lathe-spark does, so building needs no `protoc`. The
//! client is generated too, for the tests.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = protox::compile(["grpc_predict_v2.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(files)?;
    Ok(())
}
