//! The binary IR file format (`.sfir`).
//!
//! Layout, all integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `SFIR` |
//! | 4 | 2 | file format version, currently 1 |
//! | 6 | 2 | reserved, must be 0 |
//! | 8 | 4 | payload length in bytes |
//! | 12 | 4 | CRC-32 (IEEE) of the payload |
//! | 16 | n | payload: one protobuf-encoded `spikeforge.ir.v1.Network` |
//!
//! The header lets a reader tell "not an IR file", "a newer file format",
//! "truncated" and "corrupted" apart before protobuf decoding, which accepts
//! almost any byte string. The schema version inside the message
//! (`Network.schema_version`) is checked as well. To read the payload with
//! other protobuf tools, skip the first 16 bytes.

use crate::ir::{Network, SCHEMA_VERSION};
use prost::Message;

/// The magic bytes at the start of every `.sfir` file.
pub const MAGIC: [u8; 4] = *b"SFIR";
/// The file format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 16;

/// Why a byte string is not a readable IR file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfirError {
    #[error("file is {len} bytes, shorter than the 16-byte .sfir header (truncated or not an .sfir file)")]
    TooShort { len: usize },
    #[error("not an .sfir file: expected magic bytes \"SFIR\", found {found:02x?}")]
    BadMagic { found: [u8; 4] },
    #[error("unsupported .sfir format version {found}: this spikeforge reads version {supported}")]
    UnsupportedFormat { found: u16, supported: u16 },
    #[error("header field `reserved` must be 0, found {found:#06x} (corrupted header)")]
    Reserved { found: u16 },
    #[error("header says the payload is {expected} bytes but the file holds {actual} (truncated or padded file)")]
    Length { expected: u32, actual: usize },
    #[error("payload checksum mismatch: header says {expected:#010x}, payload has {actual:#010x} (corrupted file)")]
    Checksum { expected: u32, actual: u32 },
    #[error("payload is not a valid spikeforge.ir.v1.Network message: {0}")]
    Decode(String),
    #[error("unsupported IR schema_version {found}: this spikeforge reads schema version {supported}")]
    SchemaVersion { found: u32, supported: u32 },
}

/// Encodes a network as an `.sfir` byte string.
pub fn encode(network: &Network) -> Vec<u8> {
    let payload = network.encode_to_vec();
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Decodes an `.sfir` byte string, checking header, length, checksum and
/// schema version.
pub fn decode(bytes: &[u8]) -> Result<Network, SfirError> {
    if bytes.len() < HEADER_LEN {
        // A short file that does not even start with the magic is "not an sfir file".
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(SfirError::BadMagic { found: bytes[..4].try_into().unwrap() });
        }
        return Err(SfirError::TooShort { len: bytes.len() });
    }
    let magic: [u8; 4] = bytes[0..4].try_into().unwrap();
    if magic != MAGIC {
        return Err(SfirError::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return Err(SfirError::UnsupportedFormat { found: version, supported: FORMAT_VERSION });
    }
    let reserved = u16::from_le_bytes([bytes[6], bytes[7]]);
    if reserved != 0 {
        return Err(SfirError::Reserved { found: reserved });
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let crc = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    let payload = &bytes[HEADER_LEN..];
    if payload.len() != len as usize {
        return Err(SfirError::Length { expected: len, actual: payload.len() });
    }
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(SfirError::Checksum { expected: crc, actual });
    }
    let network = Network::decode(payload).map_err(|e| SfirError::Decode(e.to_string()))?;
    if network.schema_version != SCHEMA_VERSION {
        return Err(SfirError::SchemaVersion { found: network.schema_version, supported: SCHEMA_VERSION });
    }
    Ok(network)
}
