//! Lava 0.10 fixed-point semantics.
//!
//! * [`lif`] — `PyLifModelBitAcc`, the bit-accurate LIF neuron.
//! * [`dense`] — `PyDenseModelBitAcc`, the bit-accurate Dense synapses (sign
//!   modes, first-step clip/truncation, weight exponent, one-step delay).
//! * [`rule`] — a no-alloc parser for Lava's sum-of-products learning rule
//!   strings, producing a fixed-capacity [`rule::ProductSeries`].
//! * [`learning`] — `PyLearningDenseModelBitApproximate`'s learning engine
//!   (7-bit traces with stochastic decay/impulse rounding, epoch-based
//!   product-series evaluation, stochastic rounding of w/d/t).
//! * [`encoding`] — the fixed-size, versioned `u32` word encoding of a
//!   connection's learning rules for program images.
//!
//! The random streams these need live in [`crate::rng`].
//! Reference: `shared/reference/loihi-lava.md` and the executable spec
//! `shared/reference/lava/replay_reference.py`.

pub mod dense;
pub mod encoding;
pub mod learning;
pub mod lif;
pub mod rule;
