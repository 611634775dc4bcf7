//! A fixed-size word encoding of a connection's learning rules for program
//! images: [`encode_rules`] writes a [`Rules`] into exactly [`RULES_WORDS`]
//! `u32` words, [`decode_rules`] reads them back into an owned [`RuleSet`].
//!
//! The encoding is *canonical*: every [`ProductSeries`] the parser
//! ([`ProductSeries::parse`]) can produce has exactly one encoding, and
//! [`decode_rules`] accepts exactly the encodings of such series (every
//! reserved bit, unused slot and impossible value is rejected), so
//! `decode(encode(r)) == r` and `encode(decode(w)) == w` whenever the
//! decode succeeds. Decoding never panics.
//!
//! # Layout, version 1 ([`RULES_FORMAT_VERSION`])
//!
//! All fields are little-endian bit fields of `u32` words; "reserved" bits
//! are 0.
//!
//! ```text
//! word 0                      RULES_MAGIC << 16 | RULES_FORMAT_VERSION
//! words 1 ..= 161             series block for dw
//! words 162 ..= 322           series block for dd
//! words 323 ..= 483           series block for dt          (RULES_WORDS = 484)
//!
//! series block (SERIES_WORDS = 161 words; all 0 when the target has no rule)
//!   word 0   header
//!              bit  0      1 = a rule is present
//!              bits 1..=2  target: 0 dw, 1 dd, 2 dt (must match the block)
//!              bit  3      1 = the series has a u_k (decimate exponent)
//!              bits 4..=7  k of u_k, 0..=9 (0 when bit 3 is 0)
//!              bits 8..=12 number of products, 1..=16
//!              bits 13..=31 reserved
//!   words 1 + 10 i ..= 10 + 10 i   product slot i, i = 0..16 (all 0 when unused)
//!
//! product slot (PRODUCT_WORDS = 10 words)
//!   word 0   bits 0..=1   dependency: 0 x0, 1 y0, 2 u (3 is invalid)
//!            bits 2..=5   scaling mantissa m, 4-bit two's complement (-8..=7)
//!            bits 6..=9   stored scaling exponent e + 7 (0..=15)
//!            bits 10..=13 number of factors n, 0..=8
//!            bits 14..=15 reserved
//!            bits 16..=23 sgn mask: bit j = factor j is sgn(var + C)
//!            bits 24..=31 constant mask: bit j = factor j has a constant
//!   word 1   factor j's variable in bits 4j..=4j+3:
//!              0 x0, 1 y0, 2 x1, 3 x2, 4 y1, 5 y2, 6 y3, 7 w, 8 d, 9 t
//!   words 2 + j   factor j's constant C as an i32 (0 when it has none)
//!   masks, variable nibbles and constant words beyond n are 0
//! ```
//!
//! The invariants checked on decode are those of the parser: a product's
//! `(m, e)` is normalised (`m = -8` only with `e = 8`), `sgn` only on w, d,
//! t, a series has a `u_k` exactly when one of its products depends on
//! `u`, and all series of one connection use the same `k`.
//!
//! Capacity: [`MAX_PRODUCTS`] × [`MAX_FACTORS`] per target, the parser's
//! limits, so every parsed rule fits. 484 words = 1936 bytes per plastic
//! connection.

use core::fmt;

use super::learning::Rules;
use super::rule::{
    Dependency, Factor, FactorVar, Product, ProductSeries, Target, MAX_FACTORS, MAX_PRODUCTS,
};

/// Format version written into word 0 (low 16 bits).
pub const RULES_FORMAT_VERSION: u16 = 1;
/// Magic number written into word 0 (high 16 bits): ASCII "LR".
pub const RULES_MAGIC: u16 = 0x4C52;
/// Words of one product slot: header, variable nibbles, one constant per factor.
pub const PRODUCT_WORDS: usize = 2 + MAX_FACTORS;
/// Words of one series block: header plus [`MAX_PRODUCTS`] product slots.
pub const SERIES_WORDS: usize = 1 + MAX_PRODUCTS * PRODUCT_WORDS;
/// Words of the whole encoding: magic/version word plus three series blocks.
pub const RULES_WORDS: usize = 1 + 3 * SERIES_WORDS;

const TARGETS: [Target; 3] = [Target::Dw, Target::Dd, Target::Dt];

/// The learning rules of one connection, owned (what [`decode_rules`]
/// returns); [`RuleSet::rules`] borrows it as the learning engine's
/// [`Rules`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// Rule for the weight.
    pub dw: Option<ProductSeries>,
    /// Rule for the delay (tag_2).
    pub dd: Option<ProductSeries>,
    /// Rule for the tag (tag_1).
    pub dt: Option<ProductSeries>,
}

impl RuleSet {
    /// Copies borrowed rules.
    pub fn from_rules(r: &Rules<'_>) -> RuleSet {
        RuleSet {
            dw: r.dw.copied(),
            dd: r.dd.copied(),
            dt: r.dt.copied(),
        }
    }

    /// Borrows the rules for the learning engine.
    pub fn rules(&self) -> Rules<'_> {
        Rules {
            dw: self.dw.as_ref(),
            dd: self.dd.as_ref(),
            dt: self.dt.as_ref(),
        }
    }

    /// Encodes into a fresh word array (see [`encode_rules`]).
    pub fn encode(&self) -> Result<[u32; RULES_WORDS], EncodeError> {
        let mut w = [0u32; RULES_WORDS];
        encode_rules(&self.rules(), &mut w)?;
        Ok(w)
    }
}

/// Rules that cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A series sits in the slot of another target (e.g. a `dd` series as `dw`).
    WrongTarget {
        /// The slot.
        slot: Target,
        /// The series' own target.
        found: Target,
    },
    /// Two series use different `u_k`.
    MixedDecimateExponent,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::WrongTarget { slot, found } => {
                write!(f, "a {} rule is in the {} slot", found.name(), slot.name())
            }
            EncodeError::MixedDecimateExponent => {
                write!(f, "the rules use different u_k; Lava requires one")
            }
        }
    }
}

/// Why a word sequence is not a valid rule encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The slice is not exactly [`RULES_WORDS`] long.
    Length(usize),
    /// Word 0's magic is not [`RULES_MAGIC`].
    Magic(u32),
    /// Word 0's version is not [`RULES_FORMAT_VERSION`].
    Version(u16),
    /// The word at this index holds a value the format does not allow
    /// (a reserved bit, an unknown code, a value out of range, a non-zero
    /// unused slot, a broken invariant); `what` says which field.
    Invalid {
        /// Index of the offending word in the slice.
        word: usize,
        /// The field that is wrong.
        what: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Length(n) => write!(f, "{n} words; expected {RULES_WORDS}"),
            DecodeError::Magic(w) => write!(f, "word 0 = {w:#010x} is not a learning-rule block"),
            DecodeError::Version(v) => write!(
                f,
                "learning-rule format version {v}; this build reads {RULES_FORMAT_VERSION}"
            ),
            DecodeError::Invalid { word, what } => write!(f, "word {word}: invalid {what}"),
        }
    }
}

fn target_code(t: Target) -> u32 {
    match t {
        Target::Dw => 0,
        Target::Dd => 1,
        Target::Dt => 2,
    }
}

fn dependency_code(d: Dependency) -> u32 {
    match d {
        Dependency::X0 => 0,
        Dependency::Y0 => 1,
        Dependency::U => 2,
    }
}

fn dependency_from(c: u32) -> Option<Dependency> {
    match c {
        0 => Some(Dependency::X0),
        1 => Some(Dependency::Y0),
        2 => Some(Dependency::U),
        _ => None,
    }
}

const VARS: [FactorVar; 10] = [
    FactorVar::X0,
    FactorVar::Y0,
    FactorVar::X1,
    FactorVar::X2,
    FactorVar::Y1,
    FactorVar::Y2,
    FactorVar::Y3,
    FactorVar::W,
    FactorVar::D,
    FactorVar::T,
];

fn var_code(v: FactorVar) -> u32 {
    VARS.iter().position(|&x| x == v).unwrap_or(0) as u32
}

fn encode_series(s: &ProductSeries, out: &mut [u32]) {
    let mut h = 1 | target_code(s.target()) << 1;
    if let Some(k) = s.decimate_exponent() {
        h |= 1 << 3 | ((k as u32) & 0xF) << 4;
    }
    h |= (s.products().len() as u32) << 8;
    out[0] = h;
    for (i, p) in s.products().iter().enumerate() {
        let w = &mut out[1 + i * PRODUCT_WORDS..1 + (i + 1) * PRODUCT_WORDS];
        let mut h = dependency_code(p.dependency);
        h |= ((p.mantissa as u32) & 0xF) << 2;
        h |= (p.stored_exponent() & 0xF) << 6;
        h |= (p.factors().len() as u32) << 10;
        let mut vars = 0u32;
        for (j, f) in p.factors().iter().enumerate() {
            if f.sgn {
                h |= 1 << (16 + j);
            }
            if let Some(c) = f.constant {
                h |= 1 << (24 + j);
                w[2 + j] = c as u32;
            }
            vars |= var_code(f.var) << (4 * j);
        }
        w[0] = h;
        w[1] = vars;
    }
}

/// Encodes the rules of one connection into `out` (every word is written).
///
/// Fails, leaving `out` unspecified, when a series is in the wrong slot or
/// the series use different `u_k`.
pub fn encode_rules(rules: &Rules<'_>, out: &mut [u32; RULES_WORDS]) -> Result<(), EncodeError> {
    let slots = [rules.dw, rules.dd, rules.dt];
    let mut k: Option<u8> = None;
    for (slot, s) in TARGETS.iter().zip(slots.iter()) {
        if let Some(s) = s {
            if s.target() != *slot {
                return Err(EncodeError::WrongTarget {
                    slot: *slot,
                    found: s.target(),
                });
            }
            if let Some(e) = s.decimate_exponent() {
                match k {
                    Some(k0) if k0 != e => return Err(EncodeError::MixedDecimateExponent),
                    _ => k = Some(e),
                }
            }
        }
    }
    out.fill(0);
    out[0] = (RULES_MAGIC as u32) << 16 | RULES_FORMAT_VERSION as u32;
    for (b, s) in slots.iter().enumerate() {
        if let Some(s) = s {
            let start = 1 + b * SERIES_WORDS;
            encode_series(s, &mut out[start..start + SERIES_WORDS]);
        }
    }
    Ok(())
}

fn invalid(word: usize, what: &'static str) -> DecodeError {
    DecodeError::Invalid { word, what }
}

/// Decodes one product slot starting at absolute word index `at`.
fn decode_product(w: &[u32], at: usize) -> Result<Product, DecodeError> {
    let h = w[0];
    let dependency = dependency_from(h & 0x3).ok_or(invalid(at, "product dependency"))?;
    let mantissa = (((h >> 2) & 0xF) as i8) << 4 >> 4;
    let stored_e = ((h >> 6) & 0xF) as i8;
    if mantissa == -8 && stored_e != 15 {
        return Err(invalid(
            at,
            "product scaling (mantissa -8 is normalised to -4 unless e = 8)",
        ));
    }
    let n = ((h >> 10) & 0xF) as usize;
    if n > MAX_FACTORS {
        return Err(invalid(at, "number of factors"));
    }
    if h & (0x3 << 14) != 0 {
        return Err(invalid(at, "reserved product bits"));
    }
    let sgn_mask = (h >> 16) & 0xFF;
    let const_mask = (h >> 24) & 0xFF;
    let used = if n == 0 { 0 } else { (1u32 << n) - 1 };
    if sgn_mask & !used != 0 || const_mask & !used != 0 {
        return Err(invalid(at, "factor masks beyond the number of factors"));
    }
    let vars = w[1];
    let used_nibbles = if n == 8 {
        u32::MAX
    } else {
        (1u32 << (4 * n)) - 1
    };
    if vars & !used_nibbles != 0 {
        return Err(invalid(
            at + 1,
            "factor variables beyond the number of factors",
        ));
    }
    let mut factors = [Factor {
        var: FactorVar::X0,
        constant: None,
        sgn: false,
    }; MAX_FACTORS];
    for (j, f) in factors.iter_mut().enumerate().take(n) {
        let code = ((vars >> (4 * j)) & 0xF) as usize;
        let var = *VARS.get(code).ok_or(invalid(at + 1, "factor variable"))?;
        let sgn = sgn_mask >> j & 1 == 1;
        if sgn && !matches!(var, FactorVar::W | FactorVar::D | FactorVar::T) {
            return Err(invalid(at, "sgn factor (only w, d, t)"));
        }
        let c = w[2 + j];
        let constant = if const_mask >> j & 1 == 1 {
            Some(c as i32)
        } else if c != 0 {
            return Err(invalid(at + 2 + j, "constant of a factor without one"));
        } else {
            None
        };
        *f = Factor { var, constant, sgn };
    }
    if w[2 + n..].iter().any(|&c| c != 0) {
        return Err(invalid(at, "constants beyond the number of factors"));
    }
    Ok(Product::from_parts(
        dependency,
        mantissa,
        stored_e - 7,
        &factors[..n],
    ))
}

/// Decodes one series block starting at absolute word index `at`.
fn decode_series(w: &[u32], at: usize, slot: Target) -> Result<Option<ProductSeries>, DecodeError> {
    let h = w[0];
    if h == 0 {
        return match w.iter().position(|&x| x != 0) {
            None => Ok(None),
            Some(i) => Err(invalid(at + i, "word of an absent rule")),
        };
    }
    if h & 1 == 0 {
        return Err(invalid(at, "series header (presence bit)"));
    }
    if (h >> 1) & 0x3 != target_code(slot) {
        return Err(invalid(at, "series target"));
    }
    let has_k = (h >> 3) & 1 == 1;
    let k = ((h >> 4) & 0xF) as u8;
    if k > 9 || (!has_k && k != 0) {
        return Err(invalid(at, "u_k exponent"));
    }
    let n = ((h >> 8) & 0x1F) as usize;
    if n == 0 || n > MAX_PRODUCTS {
        return Err(invalid(at, "number of products"));
    }
    if h >> 13 != 0 {
        return Err(invalid(at, "reserved series bits"));
    }
    let mut products = [Product::EMPTY; MAX_PRODUCTS];
    let mut uses_u = false;
    for (i, p) in products.iter_mut().enumerate().take(n) {
        let s = 1 + i * PRODUCT_WORDS;
        *p = decode_product(&w[s..s + PRODUCT_WORDS], at + s)?;
        uses_u |= p.dependency == Dependency::U;
    }
    if uses_u != has_k {
        return Err(invalid(
            at,
            "u_k flag (set exactly when a product depends on u)",
        ));
    }
    if let Some(i) = w[1 + n * PRODUCT_WORDS..].iter().position(|&x| x != 0) {
        return Err(invalid(
            at + 1 + n * PRODUCT_WORDS + i,
            "word of an unused product slot",
        ));
    }
    Ok(Some(ProductSeries::from_parts(
        slot,
        if has_k { Some(k) } else { None },
        &products[..n],
    )))
}

/// Decodes [`RULES_WORDS`] words written by [`encode_rules`]. Rejects,
/// without panicking, anything [`encode_rules`] cannot have written.
pub fn decode_rules(words: &[u32]) -> Result<RuleSet, DecodeError> {
    if words.len() != RULES_WORDS {
        return Err(DecodeError::Length(words.len()));
    }
    if words[0] >> 16 != RULES_MAGIC as u32 {
        return Err(DecodeError::Magic(words[0]));
    }
    let v = (words[0] & 0xFFFF) as u16;
    if v != RULES_FORMAT_VERSION {
        return Err(DecodeError::Version(v));
    }
    let mut out = [None; 3];
    let mut k: Option<u8> = None;
    for (b, slot) in TARGETS.iter().enumerate() {
        let start = 1 + b * SERIES_WORDS;
        let s = decode_series(&words[start..start + SERIES_WORDS], start, *slot)?;
        if let Some(e) = s.as_ref().and_then(|s| s.decimate_exponent()) {
            match k {
                Some(k0) if k0 != e => {
                    return Err(invalid(start, "u_k (differs from another rule's)"))
                }
                _ => k = Some(e),
            }
        }
        out[b] = s;
    }
    let [dw, dd, dt] = out;
    Ok(RuleSet { dw, dd, dt })
}
