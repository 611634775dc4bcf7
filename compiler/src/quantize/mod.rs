//! Quantization: from the IR's parameters to a profile's numbers, reporting
//! every precision loss.
//!
//! Each profile's pass takes the expanded network (`crate::expand`) and
//! returns the kernel's parameter types plus [`crate::diag::Diagnostics`]:
//! errors for what cannot be represented, warnings for losses the user did
//! not ask for (a weight that rounds to zero, a clipped parameter, a decay
//! that collapses, an input that can saturate), notes for losses inherent in
//! an encoding the user chose. `spikeforge compile --strict` turns warnings
//! into errors.
pub mod loihi;
pub mod spinnaker;
pub mod spinnaker_fep;
pub mod spinnaker_stdp;
