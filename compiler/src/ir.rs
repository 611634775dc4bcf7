//! The IR, generated from `proto/spikeforge/ir/v1/network.proto`.
//!
//! Every message and field is documented in the `.proto` file (units, ranges,
//! defaults); prost copies those comments onto the generated items.
#![allow(non_snake_case, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/spikeforge.ir.v1.rs"));

/// The schema version this build reads and writes (`Network.schema_version`).
pub const SCHEMA_VERSION: u32 = 1;

/// The compiled `FileDescriptorSet` of the IR schema (protobuf binary).
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ir_descriptor.bin"));
