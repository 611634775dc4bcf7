//! float64 reference semantics.
pub mod fep;
