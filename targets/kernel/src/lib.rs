//! # spikeforge-kernel
//!
//! The event-rule semantics of spikeforge, defined once and shared by the
//! software emulator (host) and the firmware (ARM968 / Cortex-M4F).
//!
//! * `#![no_std]`, no heap allocation: every function works on slices and
//!   fixed-capacity values owned by the caller.
//! * No `unsafe` except where a register or a cast needs it.
//! * Every fixed-point format is a named type whose documentation states its
//!   layout, range and rounding (see [`fixed`]).
//!
//! Two numeric profiles live here, each bit-exact with a real peer:
//! * [`spinnaker`] — sPyNNaker's numerics (s16.15 state, `IF_curr_exp`,
//!   exponential synapses, ring buffer, STDP with s4.11 traces and exp LUTs).
//! * [`loihi`] — Lava 0.10's bit-accurate LIF and Dense and its
//!   bit-approximate learning engine (sum-of-products rules).
#![no_std]
#![forbid(unsafe_code)]

pub mod fixed;
pub mod loihi;
pub mod program;
pub mod rng;
pub mod spinnaker;
