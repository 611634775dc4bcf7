//! float64 reference semantics.
pub mod fep;
pub mod stdp;
pub mod network;
