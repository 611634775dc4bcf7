//! sPyNNaker fixed-point semantics.
//!
//! Bit-exact with sPyNNaker's neuron core (read at the fork
//! `emijan-kth/sPyNNaker` @558fca1, a merge of upstream master 2023-10-17)
//! built with spinnaker_tools' default ARM-state GCC flags, and with
//! spinn_common @1e3a090 (`expk`, `expulr`, `stdfix-full-iso.h`, `round.h`).
//!
//! * [`exp`] — `expk` / `expulr` in integer arithmetic.
//! * [`ring_buffer`] — ring-buffer layout, saturating adds, weight → input.
//! * [`synapse`] — exponential synapse shaping.
//! * [`lif`] — `IF_curr_exp` neuron state, initialisation and core step.
//! * [`host`] — host-side formulas (weight scaling, `w16` quantization,
//!   STDP exp LUTs); float, for the compiler's quantization pass only.
//! * [`stdp`] — STDP traces, timing and weight rules, deferred update.
//!
//! Number formats are in [`crate::fixed`].

pub mod exp;
pub mod fep;
pub mod fep_host;
pub mod host;
pub mod lif;
pub mod ring_buffer;
pub mod stdp;
pub mod synapse;
