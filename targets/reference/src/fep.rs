//! Free-energy synapse rule (Kappel & Tetzlaff, arXiv:2103.12649v1), float64 reference.
//!
//! This is the Rust port of the project's Python reference
//! (`reference/fep/fep_ref.py` in the shared reference tree). The model, the event
//! structure and the fixed-point design it serves are described in
//! `reference/fep-synapse-rule.md`.
//!
//! # Units
//!
//! * time: ms (spike times, `dt1`, `dt2`, `tau_m`, table depth);
//! * potentials: mV (`u0`, `theta`, `u_reset`, `sigma0`, `mu`);
//! * `var`: mV²; drive `a`: mV/ms; `b`: mV²/ms;
//! * the weight `w` and the release `y` are expressed in the units of `a` (mV/ms), scaled by
//!   `kappa` (the paper labels weights in pA without giving a conversion; `kappa = 1` is
//!   the reference's choice);
//! * the rule treats `a` as the mean and `b` as the variance of `y`, so `W_LTP = r0·a/b` is
//!   read as 1/(units of w), `W_LTD = r0²/b` as 1/(units of w)², and `dw` as 1/(units of w)
//!   per triplet, before the learning rate `eta` (the mV²/ms of `b` versus the (mV/ms)² of a
//!   variance of `y` is part of the paper's units gap, fep-synapse-rule.md §1.6).
//!
//! # Notation
//!
//! For a pre-synaptic spike at `t` between neighbouring post-synaptic spikes `t1 < t < t2`:
//! `dt1 = t2 − t` (time to the next post spike) and `dt2 = t2 − t1` (the post
//! inter-spike interval).
//!
//! # Layout
//!
//! * [`params`]: [`FepParams`], [`VarianceForm`], validation;
//! * [`kernel`]: `mu`, `var`, `a`, `b`, `W_LTP`, `W_LTD`, `dw`, numerical self-check;
//! * [`events`]: triplet extraction, `total_dw`, the event-driven [`FepSynapse`] with the
//!   bounded (folded) pending state;
//! * [`rng`]: the seeded deterministic generator [`FepRng`] (xoshiro256** + Box–Muller);
//! * [`dynamics`]: stochastic release, weight trajectories;
//! * [`protocols`]: STDP window, pairing frequency, Poisson rate map, fixed points `w*`.

pub mod dynamics;
pub mod events;
pub mod kernel;
pub mod params;
pub mod protocols;
pub mod rng;

pub use dynamics::{release, simulate_weight, WeightTrace};
pub use events::{
    merge_events, total_dw, triplets, FepEventError, FepSynapse, PostUpdate, SpikeEvent,
    DEFAULT_TABLE_DEPTH_MS,
};
pub use kernel::{a_drive, b_drive, dw, mu, self_check, var, w_ltd, w_ltp, SelfCheck};
pub use params::{FepParamError, FepParams, VarianceForm};
pub use rng::FepRng;
