//! Compiles `proto/*.proto` with the pure-Rust `protox` compiler (no `protoc`) and generates the
//! prost messages and tonic services from the descriptor set.

use std::path::PathBuf;

const FILES: &[&str] = &[
    "proto/raft.proto",
    "proto/client.proto",
    "proto/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    for f in FILES {
        println!("cargo:rerun-if-changed={f}");
    }
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(FILES.iter().map(|f| f.trim_start_matches("proto/")))?;
    let fds = compiler.file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("chronos_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
