//! Typed, pure-Rust readers for the HDF5 network formats spikeforge imports —
//! lava-dl netx `.net` ([`netx`]) and NIR `.nir` ([`nir`]) — and a NIR writer
//! ([`nir_write`]).
//!
//! The models are plain documents: values exactly as stored, in the stored
//! datatype and axis order. Mapping them onto spikeforge's IR (quantisation,
//! netx's axis reversals, NIR's continuous-time parameters) is the importer's
//! job; the `netx` module provides helpers for netx's loading quirks.
//!
//! All HDF5 access goes through the small [`h5::H5Source`] trait, implemented
//! over the pinned `hdf5-pure` crate by [`h5::PureH5File`]. Malformed input
//! gives a [`FormatError`] naming the file and the path inside it; it never
//! panics.

pub mod array;
pub mod error;
pub mod h5;
pub mod netx;
pub mod nir;
pub mod nir_write;

pub use array::{IntArray, NumArray, NumData, Scalar};
pub use error::{ErrorKind, FormatError};
pub use netx::{read_netx, read_netx_bytes, NetxLayer, NetxNetwork, NetxNeuron};
pub use nir::{read_nir, read_nir_bytes, NirDocument, NirGraph, NirNode, NirOp};
pub use nir_write::{write_nir, write_nir_bytes};
