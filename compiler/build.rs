//! Compiles the IR schema with protox (pure Rust, no `protoc` binary needed)
//! and generates the prost types.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/spikeforge/ir/v1/network.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    // The descriptor set is embedded too, so tests can check field names
    // against the netx names and tools can introspect the schema.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("ir_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    let mut config = prost_build::Config::new();
    config.type_attribute(".", "#[derive(serde::Serialize)]");
    // netx fields keep their netx spelling in serialized (JSON, dump) output,
    // as they do in the .proto.
    for (message, fields) in CAMEL_CASE_FIELDS {
        for field in *fields {
            config.field_attribute(format!("spikeforge.ir.v1.{message}.{field}"), format!("#[serde(rename = \"{field}\")]"));
        }
    }
    config.compile_fds(fds)?;
    Ok(())
}

/// Fields whose proto names are the netx (camelCase) names.
const CAMEL_CASE_FIELDS: &[(&str, &[&str])] = &[
    (
        "NetxNeuron",
        &["iDecay", "vDecay", "vThMant", "refDelay", "gradedSpike", "wgtExp", "tauRho", "scaleRho", "sinDecay", "cosDecay", "thDecay", "refDecay", "vThStep", "messageBits"],
    ),
    ("Convolution", &["inChannels", "outChannels", "kernelSize"]),
    ("Pooling", &["kernelSize"]),
];
