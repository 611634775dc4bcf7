//! Lava sum-of-products rule strings, as the compiler sees them.
//!
//! The grammar, Lava's limits and the folding of literals are defined once,
//! in the kernel ([`spikeforge_kernel::loihi::rule`]), so the compiler, the
//! emulator and the firmware agree on what a rule string means.

pub use spikeforge_kernel::loihi::rule::{ProductSeries, RuleError, Target};

/// Parses the rule string of one target (`dw`, `dd` or `dt`).
pub fn parse(target: Target, text: &str) -> Result<ProductSeries, RuleError> {
    ProductSeries::parse(target, text)
}
