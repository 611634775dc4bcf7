//! Parser for Lava's sum-of-products learning-rule strings
//! (`lava.magma.core.learning.{symbolic_equation, product_series}`,
//! `loihi-lava.md` §4), without heap allocation.
//!
//! ```text
//! rule    := ['+'|'-'] product (('+'|'-') product)*     spaces are ignored
//! product := item ('*' item)*
//! item    := literal | 'x0' | 'y0' | 'u' DIGIT | var
//!          | '(' bracket ')' | 'sgn(' sgnarg ')'
//! var     := 'x1' | 'x2' | 'y1' | 'y2' | 'y3' | 'w' | 'd' | 't'
//! literal := INT '*2^' ['+'|'-'] INT  |  '2^' ['+'|'-'] INT  |  INT
//! bracket := ['+'|'-'] literal
//!          | ['+'|'-'] operand [('+'|'-') literal]
//!          | ['+'|'-'] literal ('+'|'-') operand        operand := var | 'x0' | 'y0'
//! sgnarg  := ['+'] sv [('+'|'-') literal]  |  ['+'|'-'] literal '+' sv     sv := 'w' | 'd' | 't'
//! ```
//!
//! Semantics, as Lava's `ProductSeries`:
//! * All bare literals of a product (and a bracketed lone literal, with its
//!   sign) multiply into one scale `m · 2^e`; a `-` before the product
//!   negates `m`; `m` is then normalised by halving while `|m| > 7`, `m` is
//!   even and `e < 8`. The result must satisfy `-8 <= m <= 7`,
//!   `-7 <= e <= 8` (Lava stores `e + 7`).
//! * The first of `x0`, `y0`, `u_k` in a product is its dependency; later
//!   `x0`/`y0` are 1-bit factors; a later `u_k` with the same `k` after a
//!   `u` dependency is redundant (ignored, as Lava does); `u_k` after an
//!   `x0`/`y0` dependency is an error (Lava rejects it). Every product needs
//!   a dependency; all `u_k` of a series share one `k`
//!   ([`common_decimate_exponent`] checks it across dw/dd/dt).
//! * `(v ± C)` is a factor with the constant `±C`; `(-v ± C)` and `(C - v)`
//!   negate the product's mantissa and the constant (`-(v ∓ C)`).
//!   `sgn(v ± C)` is a sign factor (−1/0/+1), allowed for w, d, t only.
//!
//! Stricter than Lava (each of these is accepted by Lava's tokenizer with a
//! surprising meaning, so it is an error here): juxtaposition without `*`
//! (`x12` is `x1*2` in Lava), stray `*` (`x0**y0`), a negated lone variable
//! in brackets (`(-x1)`: Lava drops the sign), a lone `x0`/`y0`/nested
//! bracket in brackets (Lava drops the factor), trailing terms in brackets
//! (`(x1+8+2)`: Lava ignores `+2`), `*` inside brackets (`(x1*8)` is
//! `(x1+8)` in Lava), non-integer constants (`(x1+2^-1)`), constants
//! outside `i32`, numbers with leading zeros (Lava's `ast.literal_eval`
//! rejects most of them too). Only ASCII spaces are ignored (Lava strips
//! `' '` only).
//!
//! Capacities: at most [`MAX_PRODUCTS`] products per series and
//! [`MAX_FACTORS`] factors per product (the dependency is not a factor);
//! exceeding them is an error. Lava itself has no limit; 16 × 8 is far
//! beyond what its 32-bit product arithmetic can evaluate without wrapping.

use core::fmt;

/// Maximum number of products in one [`ProductSeries`].
pub const MAX_PRODUCTS: usize = 16;
/// Maximum number of factors in one [`Product`] (excluding the dependency).
pub const MAX_FACTORS: usize = 8;

/// Smallest and largest scaling mantissa (4-bit signed).
pub const MANTISSA_RANGE: (i8, i8) = (-8, 7);
/// Smallest and largest scaling exponent (stored as `e + 7`, 0..=15).
pub const EXPONENT_RANGE: (i8, i8) = (-7, 8);

/// The synaptic variable a rule updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `dw`: the weight.
    Dw,
    /// `dd`: the delay (Lava's `tag_2`).
    Dd,
    /// `dt`: the tag (Lava's `tag_1`).
    Dt,
}

impl Target {
    /// Lava's name (`"dw"`, `"dd"`, `"dt"`).
    pub const fn name(self) -> &'static str {
        match self {
            Target::Dw => "dw",
            Target::Dd => "dd",
            Target::Dt => "dt",
        }
    }
}

/// The dependency gating a product (its value is 0 or 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// The pre-synaptic neuron spiked in this epoch.
    X0,
    /// The post-synaptic neuron spiked in this epoch.
    Y0,
    /// `u_k`: 1 on epochs whose index is a multiple of `2^k` (k is the
    /// series' [`ProductSeries::decimate_exponent`]).
    U,
}

impl Dependency {
    /// Lava's name (`"x0"`, `"y0"`, `"u"`).
    pub const fn name(self) -> &'static str {
        match self {
            Dependency::X0 => "x0",
            Dependency::Y0 => "y0",
            Dependency::U => "u",
        }
    }
}

/// A state variable used as a factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FactorVar {
    /// Pre-synaptic spike flag (1 bit).
    X0,
    /// Post-synaptic spike flag (1 bit).
    Y0,
    /// Pre-synaptic trace 1 (7 bits).
    X1,
    /// Pre-synaptic trace 2 (7 bits).
    X2,
    /// Post-synaptic trace 1 (7 bits).
    Y1,
    /// Post-synaptic trace 2 (7 bits).
    Y2,
    /// Post-synaptic trace 3 (7 bits).
    Y3,
    /// Weight (8 bits + sign).
    W,
    /// Delay, `tag_2` (8 bits + sign).
    D,
    /// Tag, `tag_1` (8 bits + sign).
    T,
}

impl FactorVar {
    /// Lava's name.
    pub const fn name(self) -> &'static str {
        match self {
            FactorVar::X0 => "x0",
            FactorVar::Y0 => "y0",
            FactorVar::X1 => "x1",
            FactorVar::X2 => "x2",
            FactorVar::Y1 => "y1",
            FactorVar::Y2 => "y2",
            FactorVar::Y3 => "y3",
            FactorVar::W => "w",
            FactorVar::D => "d",
            FactorVar::T => "t",
        }
    }

    /// The factor width `wf` used by the product evaluation (Lava's
    /// `FACTOR_TO_WIDTH_DICT`): the value plus constant is clipped to
    /// `[-2^wf, 2^wf - 1]` and `wf` counts towards the product's width.
    pub const fn width(self) -> u32 {
        match self {
            FactorVar::X0 | FactorVar::Y0 => 1,
            FactorVar::X1 | FactorVar::X2 | FactorVar::Y1 | FactorVar::Y2 | FactorVar::Y3 => 7,
            FactorVar::W | FactorVar::D | FactorVar::T => 9,
        }
    }

    /// `true` for the trace variables x1, x2, y1, y2, y3.
    pub const fn is_trace(self) -> bool {
        matches!(
            self,
            FactorVar::X1 | FactorVar::X2 | FactorVar::Y1 | FactorVar::Y2 | FactorVar::Y3
        )
    }
}

/// One factor `(var + C)` or `sgn(var + C)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Factor {
    /// The state variable.
    pub var: FactorVar,
    /// The additive constant (`None` prints as Lava's `C = None`; it
    /// evaluates as 0). Lava does not range-check it; the hardware's
    /// constant field is 8 bits, so a compiler may warn outside -128..=127.
    pub constant: Option<i32>,
    /// `sgn(var + C)`: the factor is the sign (−1, 0, +1) of the sum.
    pub sgn: bool,
}

impl Factor {
    const EMPTY: Factor = Factor {
        var: FactorVar::X0,
        constant: None,
        sgn: false,
    };
}

impl fmt::Display for Factor {
    /// Lava's `Factor.__str__`, e.g. `(x1+C, C = None)`, `(w+2C, C = 8)`,
    /// `(sgn(d+C), C = -1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = if matches!(self.var, FactorVar::W | FactorVar::T) {
            "2C"
        } else {
            "C"
        };
        if self.sgn {
            write!(f, "(sgn({}+{})", self.var.name(), c)?;
        } else {
            write!(f, "({}+{}", self.var.name(), c)?;
        }
        match self.constant {
            Some(v) => write!(f, ", C = {v})"),
            None => write!(f, ", C = None)"),
        }
    }
}

/// One product `dep · m·2^e · Π factors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Product {
    /// The dependency gating the product.
    pub dependency: Dependency,
    /// Scaling mantissa `m`, 4-bit signed (-8..=7).
    pub mantissa: i8,
    /// Scaling exponent `e` (-7..=8); Lava stores and prints `e + 7`.
    pub exponent: i8,
    factors: [Factor; MAX_FACTORS],
    n_factors: u8,
}

impl Product {
    /// An unused product slot (what the parser leaves in unused slots).
    pub(crate) const EMPTY: Product = Product {
        dependency: Dependency::X0,
        mantissa: 0,
        exponent: 0,
        factors: [Factor::EMPTY; MAX_FACTORS],
        n_factors: 0,
    };

    /// Builds a product from decoded parts; unused factor slots are left as
    /// the parser leaves them, so equal parts give `==` products. The caller
    /// (the word decoder) has checked every invariant the parser guarantees;
    /// `factors` longer than [`MAX_FACTORS`] is cut to it.
    pub(crate) fn from_parts(
        dependency: Dependency,
        mantissa: i8,
        exponent: i8,
        factors: &[Factor],
    ) -> Product {
        let n = factors.len().min(MAX_FACTORS);
        let mut p = Product {
            dependency,
            mantissa,
            exponent,
            ..Product::EMPTY
        };
        p.factors[..n].copy_from_slice(&factors[..n]);
        p.n_factors = n as u8;
        p
    }

    /// The factors, in source order.
    pub fn factors(&self) -> &[Factor] {
        &self.factors[..self.n_factors as usize]
    }

    /// Lava's stored exponent `e + 7` (0..=15): the left shift applied to
    /// the product.
    pub fn stored_exponent(&self) -> u32 {
        (self.exponent as i32 + 7) as u32
    }

    /// Sum of the factor widths plus 4 for the mantissa: the width of the
    /// raw product before it is shifted back to 15 bits.
    pub fn width(&self) -> u32 {
        self.factors().iter().map(|f| f.var.width()).sum::<u32>() + 4
    }
}

/// A parsed learning rule: up to [`MAX_PRODUCTS`] products for one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductSeries {
    target: Target,
    decimate_exponent: Option<u8>,
    products: [Product; MAX_PRODUCTS],
    len: u8,
}

impl ProductSeries {
    /// Builds a series from decoded parts (see [`Product::from_parts`]);
    /// `products` longer than [`MAX_PRODUCTS`] is cut to it.
    pub(crate) fn from_parts(
        target: Target,
        decimate_exponent: Option<u8>,
        products: &[Product],
    ) -> ProductSeries {
        let n = products.len().min(MAX_PRODUCTS);
        let mut all = [Product::EMPTY; MAX_PRODUCTS];
        all[..n].copy_from_slice(&products[..n]);
        ProductSeries {
            target,
            decimate_exponent,
            products: all,
            len: n as u8,
        }
    }

    /// Parses a rule string for `target`.
    pub fn parse(target: Target, src: &str) -> Result<ProductSeries, RuleError> {
        Parser::new(src).series(target)
    }

    /// The target variable.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The `k` of the series' `u_k` terms, if any.
    pub fn decimate_exponent(&self) -> Option<u8> {
        self.decimate_exponent
    }

    /// The products, in source order.
    pub fn products(&self) -> &[Product] {
        &self.products[..self.len as usize]
    }
}

impl fmt::Display for ProductSeries {
    /// Lava's `str(ProductSeries)`, byte for byte (the form stored in the
    /// fixtures' `product_series`), ending with a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decimate_exponent {
            Some(k) => writeln!(f, "ProductSeries: decimate_exponent={k}")?,
            None => writeln!(f, "ProductSeries: decimate_exponent=None")?,
        }
        for p in self.products() {
            writeln!(
                f,
                "    Product: dependency={}, scaling={}*2^({}-7), target={}, num_factors={}",
                p.dependency.name(),
                p.mantissa,
                p.stored_exponent(),
                self.target.name(),
                p.n_factors
            )?;
            writeln!(f, "        Factors:")?;
            for fac in p.factors() {
                writeln!(f, "            {fac}")?;
            }
        }
        Ok(())
    }
}

/// Checks that all given series use the same `u_k` exponent (Lava requires
/// one `k` across dw, dd and dt) and returns it.
pub fn common_decimate_exponent(series: &[&ProductSeries]) -> Result<Option<u8>, DecimateMismatch> {
    let mut k: Option<(u8, Target)> = None;
    for s in series {
        if let Some(e) = s.decimate_exponent {
            match k {
                None => k = Some((e, s.target)),
                Some((k0, t0)) if k0 != e => {
                    return Err(DecimateMismatch {
                        first: (t0, k0),
                        second: (s.target, e),
                    })
                }
                Some(_) => {}
            }
        }
    }
    Ok(k.map(|(e, _)| e))
}

/// Two rules of one connection use different `u_k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimateMismatch {
    /// The first rule with a `u_k` and its `k`.
    pub first: (Target, u8),
    /// The first rule with a different `k`.
    pub second: (Target, u8),
}

impl fmt::Display for DecimateMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} uses u{} but {} uses u{}: all learning rules of a connection must use the same u_k",
            self.first.0.name(),
            self.first.1,
            self.second.0.name(),
            self.second.1
        )
    }
}

/// A rejected rule string: where (byte offset into the original string,
/// spaces included) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// Byte offset of the offending token (or of the start of the offending
    /// product for product-level errors); the string's length for
    /// "unexpected end".
    pub offset: usize,
    /// What is wrong.
    pub kind: RuleErrorKind,
}

/// The reasons a rule string is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleErrorKind {
    /// The string is empty or only spaces.
    Empty,
    /// Something else was expected here; `found` is `None` at the end.
    Expected {
        /// Human description of what may appear here.
        expected: &'static str,
        /// The character found, `None` at the end of the string.
        found: Option<char>,
    },
    /// A number with a leading zero (`07`).
    LeadingZero,
    /// A number, or the folded scale, does not fit the parser's integers.
    NumberTooLarge,
    /// A constant `m*2^e` with a negative `e` that is not an integer.
    NonIntegerConstant,
    /// A bracket within a bracket.
    NestedBracket,
    /// `(-v)`: Lava ignores the sign of a lone variable in brackets.
    NegatedLoneVariable,
    /// `(x0)` / `(y0)`: Lava drops a lone dependency in brackets.
    LoneDependencyInBracket,
    /// `u_k` inside brackets or `sgn(..)`.
    UkNotAllowedHere,
    /// `sgn(..)` of something other than w, d, t.
    SgnVariable,
    /// `sgn(-v ..)` or `sgn(C - v)`: the variable in sgn must not be negated.
    SgnNegated,
    /// `u_k` after an `x0`/`y0` dependency in the same product.
    UkAfterSpikeDependency,
    /// A `u_k` whose `k` differs from an earlier one in the series.
    MixedDecimateExponent {
        /// The `k` seen first.
        first: u8,
        /// The different `k`.
        found: u8,
    },
    /// A product without x0, y0 or u_k.
    MissingDependency,
    /// The normalised scaling mantissa is outside -8..=7.
    MantissaOutOfRange {
        /// The mantissa after normalisation.
        mantissa: i128,
        /// The exponent after normalisation.
        exponent: i64,
    },
    /// The normalised scaling exponent is outside -7..=8.
    ExponentOutOfRange {
        /// The mantissa after normalisation.
        mantissa: i128,
        /// The exponent after normalisation.
        exponent: i64,
    },
    /// More than [`MAX_PRODUCTS`] products.
    TooManyProducts,
    /// More than [`MAX_FACTORS`] factors in a product.
    TooManyFactors,
}

impl fmt::Display for RuleErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RuleErrorKind::Empty => write!(f, "the rule is empty"),
            RuleErrorKind::Expected { expected, found: Some(c) } => {
                write!(f, "expected {expected}, found {c:?}")
            }
            RuleErrorKind::Expected { expected, found: None } => {
                write!(f, "expected {expected}, found the end of the rule")
            }
            RuleErrorKind::LeadingZero => write!(f, "numbers must not have leading zeros"),
            RuleErrorKind::NumberTooLarge => write!(f, "number too large"),
            RuleErrorKind::NonIntegerConstant => {
                write!(f, "the constant added to a variable must be an integer")
            }
            RuleErrorKind::NestedBracket => write!(f, "brackets cannot be nested"),
            RuleErrorKind::NegatedLoneVariable => write!(
                f,
                "Lava ignores the sign of a lone variable in brackets ('(-x1)' means x1); put the sign in front of the product"
            ),
            RuleErrorKind::LoneDependencyInBracket => write!(
                f,
                "Lava drops a lone x0/y0 in brackets; write it without brackets"
            ),
            RuleErrorKind::UkNotAllowedHere => {
                write!(f, "u_k can only be a product's dependency, not inside brackets or sgn(..)")
            }
            RuleErrorKind::SgnVariable => write!(f, "sgn(..) can only be applied to w, d or t"),
            RuleErrorKind::SgnNegated => write!(f, "the variable in sgn(..) cannot be negated"),
            RuleErrorKind::UkAfterSpikeDependency => write!(
                f,
                "u_k must be the product's dependency: it cannot follow x0 or y0 in the same product"
            ),
            RuleErrorKind::MixedDecimateExponent { first, found } => write!(
                f,
                "u{found} differs from u{first} used earlier: a rule can use only one u_k"
            ),
            RuleErrorKind::MissingDependency => {
                write!(f, "the product has no dependency (x0, y0 or u_k)")
            }
            RuleErrorKind::MantissaOutOfRange { mantissa, exponent } => write!(
                f,
                "the product's scaling {mantissa}*2^{exponent} needs a mantissa in -8..=7"
            ),
            RuleErrorKind::ExponentOutOfRange { mantissa, exponent } => write!(
                f,
                "the product's scaling {mantissa}*2^{exponent} needs an exponent in -7..=8"
            ),
            RuleErrorKind::TooManyProducts => {
                write!(f, "more than {MAX_PRODUCTS} products")
            }
            RuleErrorKind::TooManyFactors => {
                write!(f, "more than {MAX_FACTORS} factors in one product")
            }
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.kind)
    }
}

// ---------------------------------------------------------------- parser

const EXPECT_ITEM: &str =
    "a factor (a number, 2^e, x0, y0, u<k>, x1, x2, y1, y2, y3, w, d, t, '(' or 'sgn(')";
const EXPECT_AFTER_ITEM: &str = "'*', '+', '-' or the end of the rule";

/// A literal `mantissa · 2^exponent` (`INT` has exponent 0).
#[derive(Clone, Copy)]
struct Literal {
    mantissa: u128,
    exponent: i64,
}

impl Literal {
    /// The integer value, for a constant.
    fn int_value(self, at: usize) -> Result<i64, RuleError> {
        let err = |kind| RuleError { offset: at, kind };
        if self.exponent >= 0 {
            if self.mantissa == 0 {
                return Ok(0);
            }
            if self.exponent > 62 {
                return Err(err(RuleErrorKind::NumberTooLarge));
            }
            let v = self
                .mantissa
                .checked_shl(self.exponent as u32)
                .ok_or(err(RuleErrorKind::NumberTooLarge))?;
            i64::try_from(v).map_err(|_| err(RuleErrorKind::NumberTooLarge))
        } else {
            let sh = (-self.exponent) as u32;
            if sh >= 128 || self.mantissa & ((1u128 << sh) - 1) != 0 {
                return Err(err(RuleErrorKind::NonIntegerConstant));
            }
            i64::try_from(self.mantissa >> sh).map_err(|_| err(RuleErrorKind::NumberTooLarge))
        }
    }
}

/// One bracket/sgn operand.
#[derive(Clone, Copy)]
enum Operand {
    Lit(Literal),
    Var(FactorVar),
}

struct ProductBuilder {
    start: usize,
    dependency: Option<Dependency>,
    mantissa: i128,
    exponent: i64,
    factors: [Factor; MAX_FACTORS],
    n_factors: usize,
}

struct Parser<'a> {
    src: &'a str,
    s: &'a [u8],
    pos: usize,
    decimate_exponent: Option<u8>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            s: src.as_bytes(),
            pos: 0,
            decimate_exponent: None,
        }
    }

    /// Skips spaces; returns the next byte and its offset without consuming.
    fn peek(&mut self) -> Option<(u8, usize)> {
        while self.pos < self.s.len() && self.s[self.pos] == b' ' {
            self.pos += 1;
        }
        self.s.get(self.pos).map(|&b| (b, self.pos))
    }

    /// The byte after the next one (spaces skipped), without consuming.
    fn peek_at(&self, n: usize) -> Option<u8> {
        let mut p = self.pos;
        let mut k = 0;
        while p < self.s.len() {
            if self.s[p] != b' ' {
                if k == n {
                    return Some(self.s[p]);
                }
                k += 1;
            }
            p += 1;
        }
        None
    }

    fn bump(&mut self) {
        self.peek();
        self.pos += 1;
    }

    fn found(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|r| r.chars().next())
    }

    fn expected(&mut self, expected: &'static str) -> RuleError {
        let at = match self.peek() {
            Some((_, at)) => at,
            None => self.s.len(),
        };
        RuleError {
            offset: at,
            kind: RuleErrorKind::Expected {
                expected,
                found: self.found(at),
            },
        }
    }

    fn series(mut self, target: Target) -> Result<ProductSeries, RuleError> {
        if self.peek().is_none() {
            return Err(RuleError {
                offset: 0,
                kind: RuleErrorKind::Empty,
            });
        }
        let mut products = [Product::EMPTY; MAX_PRODUCTS];
        let mut len = 0usize;
        let mut first = true;
        loop {
            let (c, start) = match self.peek() {
                Some(x) => x,
                None => return Err(self.expected(EXPECT_ITEM)),
            };
            let mut negative = false;
            if c == b'+' || c == b'-' {
                negative = c == b'-';
                self.bump();
            } else if !first {
                return Err(self.expected(EXPECT_AFTER_ITEM));
            }
            first = false;
            let p = self.product(start, negative)?;
            if len == MAX_PRODUCTS {
                return Err(RuleError {
                    offset: start,
                    kind: RuleErrorKind::TooManyProducts,
                });
            }
            products[len] = p;
            len += 1;
            if self.peek().is_none() {
                break;
            }
        }
        Ok(ProductSeries {
            target,
            decimate_exponent: self.decimate_exponent,
            products,
            len: len as u8,
        })
    }

    fn product(&mut self, start: usize, negative: bool) -> Result<Product, RuleError> {
        let mut b = ProductBuilder {
            start,
            dependency: None,
            mantissa: if negative { -1 } else { 1 },
            exponent: 0,
            factors: [Factor::EMPTY; MAX_FACTORS],
            n_factors: 0,
        };
        loop {
            self.item(&mut b)?;
            match self.peek() {
                Some((b'*', _)) => self.bump(),
                Some((b'+', _)) | Some((b'-', _)) | None => break,
                Some(_) => return Err(self.expected(EXPECT_AFTER_ITEM)),
            }
        }
        finish_product(b)
    }

    fn push_factor(&self, b: &mut ProductBuilder, f: Factor, at: usize) -> Result<(), RuleError> {
        if b.n_factors == MAX_FACTORS {
            return Err(RuleError {
                offset: at,
                kind: RuleErrorKind::TooManyFactors,
            });
        }
        b.factors[b.n_factors] = f;
        b.n_factors += 1;
        Ok(())
    }

    fn scale(
        &self,
        b: &mut ProductBuilder,
        lit: Literal,
        negative: bool,
        at: usize,
    ) -> Result<(), RuleError> {
        let too_large = RuleError {
            offset: at,
            kind: RuleErrorKind::NumberTooLarge,
        };
        let m = i128::try_from(lit.mantissa).map_err(|_| too_large)?;
        b.mantissa = b.mantissa.checked_mul(m).ok_or(too_large)?;
        if negative {
            b.mantissa = -b.mantissa;
        }
        b.exponent = b.exponent.checked_add(lit.exponent).ok_or(too_large)?;
        Ok(())
    }

    fn item(&mut self, b: &mut ProductBuilder) -> Result<(), RuleError> {
        let (c, at) = match self.peek() {
            Some(x) => x,
            None => return Err(self.expected(EXPECT_ITEM)),
        };
        match c {
            b'0'..=b'9' => {
                let lit = self.literal()?;
                self.scale(b, lit, false, at)
            }
            b'u' => {
                let k = self.uk()?;
                self.note_decimate(k, at)?;
                match b.dependency {
                    None => {
                        b.dependency = Some(Dependency::U);
                        Ok(())
                    }
                    Some(Dependency::U) => Ok(()),
                    Some(_) => Err(RuleError {
                        offset: at,
                        kind: RuleErrorKind::UkAfterSpikeDependency,
                    }),
                }
            }
            b'(' => {
                self.bump();
                self.bracket(b, at)
            }
            b's' => {
                for &want in b"sgn(" {
                    match self.peek() {
                        Some((x, _)) if x == want => self.bump(),
                        _ => return Err(self.expected(EXPECT_ITEM)),
                    }
                }
                self.sgn(b, at)
            }
            _ => {
                let v = self.variable()?;
                match v {
                    FactorVar::X0 if b.dependency.is_none() => {
                        b.dependency = Some(Dependency::X0);
                        Ok(())
                    }
                    FactorVar::Y0 if b.dependency.is_none() => {
                        b.dependency = Some(Dependency::Y0);
                        Ok(())
                    }
                    _ => self.push_factor(
                        b,
                        Factor {
                            var: v,
                            constant: None,
                            sgn: false,
                        },
                        at,
                    ),
                }
            }
        }
    }

    fn note_decimate(&mut self, k: u8, at: usize) -> Result<(), RuleError> {
        match self.decimate_exponent {
            None => {
                self.decimate_exponent = Some(k);
                Ok(())
            }
            Some(first) if first != k => Err(RuleError {
                offset: at,
                kind: RuleErrorKind::MixedDecimateExponent { first, found: k },
            }),
            Some(_) => Ok(()),
        }
    }

    /// `u` DIGIT.
    fn uk(&mut self) -> Result<u8, RuleError> {
        self.bump();
        match self.peek() {
            Some((d @ b'0'..=b'9', _)) => {
                self.bump();
                Ok(d - b'0')
            }
            _ => Err(self.expected("a digit after 'u' (u0..u9)")),
        }
    }

    /// x0 y0 x1 x2 y1 y2 y3 w d t.
    fn variable(&mut self) -> Result<FactorVar, RuleError> {
        let (c, _) = match self.peek() {
            Some(x) => x,
            None => return Err(self.expected(EXPECT_ITEM)),
        };
        let v = match c {
            b'w' => FactorVar::W,
            b'd' => FactorVar::D,
            b't' => FactorVar::T,
            b'x' | b'y' => {
                let d = self.peek_at(1);
                let v = match (c, d) {
                    (b'x', Some(b'0')) => FactorVar::X0,
                    (b'x', Some(b'1')) => FactorVar::X1,
                    (b'x', Some(b'2')) => FactorVar::X2,
                    (b'y', Some(b'0')) => FactorVar::Y0,
                    (b'y', Some(b'1')) => FactorVar::Y1,
                    (b'y', Some(b'2')) => FactorVar::Y2,
                    (b'y', Some(b'3')) => FactorVar::Y3,
                    _ => {
                        self.bump();
                        return Err(self.expected(if c == b'x' {
                            "0, 1 or 2 after 'x'"
                        } else {
                            "0, 1, 2 or 3 after 'y'"
                        }));
                    }
                };
                self.bump();
                v
            }
            _ => return Err(self.expected(EXPECT_ITEM)),
        };
        self.bump();
        Ok(v)
    }

    /// An unsigned decimal integer (no leading zeros except "0").
    fn uint(&mut self) -> Result<u128, RuleError> {
        let (c, at) = match self.peek() {
            Some((c @ b'0'..=b'9', at)) => (c, at),
            _ => return Err(self.expected("a number")),
        };
        let _ = c;
        let mut v: u128 = 0;
        let mut digits = 0;
        let mut leading_zero = false;
        while let Some((d @ b'0'..=b'9', _)) = self.peek() {
            if digits == 0 && d == b'0' {
                leading_zero = true;
            }
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((d - b'0') as u128))
                .ok_or(RuleError {
                    offset: at,
                    kind: RuleErrorKind::NumberTooLarge,
                })?;
            digits += 1;
            self.bump();
        }
        if leading_zero && digits > 1 {
            return Err(RuleError {
                offset: at,
                kind: RuleErrorKind::LeadingZero,
            });
        }
        Ok(v)
    }

    /// `['+'|'-'] INT` (an exponent).
    fn signed_exponent(&mut self) -> Result<i64, RuleError> {
        let mut neg = false;
        match self.peek() {
            Some((b'+', _)) => self.bump(),
            Some((b'-', _)) => {
                neg = true;
                self.bump()
            }
            _ => {}
        }
        let at = self.peek().map(|(_, a)| a).unwrap_or(self.s.len());
        let v = self.uint()?;
        let v = i64::try_from(v).map_err(|_| RuleError {
            offset: at,
            kind: RuleErrorKind::NumberTooLarge,
        })?;
        Ok(if neg { -v } else { v })
    }

    /// `INT '*2^' SEXP | '2^' SEXP | INT`, the cursor on the first digit.
    fn literal(&mut self) -> Result<Literal, RuleError> {
        let start = self.pos;
        let m = self.uint()?;
        // `2^e`: the literal is exactly the digit 2 followed by '^'
        if let Some((b'^', _)) = self.peek() {
            if m == 2 && self.digits_between(start) == 1 {
                self.bump();
                let e = self.signed_exponent()?;
                return Ok(Literal {
                    mantissa: 1,
                    exponent: e,
                });
            }
            return Err(self.expected(EXPECT_AFTER_ITEM));
        }
        // `m*2^e` (one literal in Lava's tokenizer; matters inside brackets)
        if self.peek_at(0) == Some(b'*')
            && self.peek_at(1) == Some(b'2')
            && self.peek_at(2) == Some(b'^')
        {
            self.bump();
            self.bump();
            self.bump();
            let e = self.signed_exponent()?;
            return Ok(Literal {
                mantissa: m,
                exponent: e,
            });
        }
        Ok(Literal {
            mantissa: m,
            exponent: 0,
        })
    }

    /// Number of non-space bytes consumed since `start`.
    fn digits_between(&self, start: usize) -> usize {
        self.s[start..self.pos]
            .iter()
            .filter(|&&b| b != b' ')
            .count()
    }

    /// A bracket or sgn operand.
    fn operand(&mut self, in_sgn: bool) -> Result<(Operand, usize), RuleError> {
        let (c, at) = match self.peek() {
            Some(x) => x,
            None => return Err(self.expected("a variable or a number")),
        };
        match c {
            b'0'..=b'9' => Ok((Operand::Lit(self.literal()?), at)),
            b'(' => Err(RuleError {
                offset: at,
                kind: RuleErrorKind::NestedBracket,
            }),
            b'u' => Err(RuleError {
                offset: at,
                kind: RuleErrorKind::UkNotAllowedHere,
            }),
            b's' if !in_sgn => Err(RuleError {
                offset: at,
                kind: RuleErrorKind::NestedBracket,
            }),
            _ => Ok((Operand::Var(self.variable()?), at)),
        }
    }

    fn sign(&mut self) -> Option<bool> {
        match self.peek() {
            Some((b'+', _)) => {
                self.bump();
                Some(false)
            }
            Some((b'-', _)) => {
                self.bump();
                Some(true)
            }
            _ => None,
        }
    }

    fn close(&mut self) -> Result<(), RuleError> {
        match self.peek() {
            Some((b')', _)) => {
                self.bump();
                Ok(())
            }
            _ => Err(self.expected("')'")),
        }
    }

    /// Parses `[s1] a [s2 b]` up to (not including) ')'.
    #[allow(clippy::type_complexity)]
    fn bracket_parts(
        &mut self,
        in_sgn: bool,
    ) -> Result<(bool, (Operand, usize), Option<(bool, (Operand, usize))>), RuleError> {
        let s1 = self.sign().unwrap_or(false);
        let a = self.operand(in_sgn)?;
        let second = match self.peek() {
            Some((b')', _)) => None,
            Some((b'+', _)) | Some((b'-', _)) => {
                let s2 = self.sign().unwrap_or(false);
                Some((s2, self.operand(in_sgn)?))
            }
            _ => return Err(self.expected("'+', '-' or ')'")),
        };
        Ok((s1, a, second))
    }

    /// `(` already consumed.
    fn bracket(&mut self, b: &mut ProductBuilder, open_at: usize) -> Result<(), RuleError> {
        let (s1, (a, a_at), second) = self.bracket_parts(false)?;
        match (a, second) {
            (Operand::Lit(l), None) => {
                self.close()?;
                self.scale(b, l, s1, a_at)
            }
            (Operand::Var(v), None) => {
                if s1 {
                    return Err(RuleError {
                        offset: a_at,
                        kind: RuleErrorKind::NegatedLoneVariable,
                    });
                }
                if matches!(v, FactorVar::X0 | FactorVar::Y0) {
                    return Err(RuleError {
                        offset: a_at,
                        kind: RuleErrorKind::LoneDependencyInBracket,
                    });
                }
                self.close()?;
                self.push_factor(
                    b,
                    Factor {
                        var: v,
                        constant: None,
                        sgn: false,
                    },
                    open_at,
                )
            }
            (Operand::Var(v), Some((s2, (Operand::Lit(l), l_at)))) => {
                self.close()?;
                self.var_const_factor(b, v, s1, l, s2, l_at, false, open_at)
            }
            (Operand::Lit(l), Some((s2, (Operand::Var(v), _)))) => {
                self.close()?;
                self.var_const_factor(b, v, s2, l, s1, a_at, false, open_at)
            }
            (_, Some((_, (_, at)))) => Err(RuleError {
                offset: at,
                kind: RuleErrorKind::Expected {
                    expected: "one variable and one number in brackets",
                    found: self.found(at),
                },
            }),
        }
    }

    /// Adds the factor `(±v ± C)`; a negated variable negates the product's
    /// mantissa and the constant.
    #[allow(clippy::too_many_arguments)]
    fn var_const_factor(
        &self,
        b: &mut ProductBuilder,
        v: FactorVar,
        v_neg: bool,
        l: Literal,
        c_neg: bool,
        l_at: usize,
        sgn: bool,
        at: usize,
    ) -> Result<(), RuleError> {
        let mut c = l.int_value(l_at)?;
        if c_neg {
            c = -c;
        }
        if v_neg {
            b.mantissa = -b.mantissa;
            c = -c;
        }
        let c = i32::try_from(c).map_err(|_| RuleError {
            offset: l_at,
            kind: RuleErrorKind::NumberTooLarge,
        })?;
        self.push_factor(
            b,
            Factor {
                var: v,
                constant: Some(c),
                sgn,
            },
            at,
        )
    }

    /// `sgn(` already consumed.
    fn sgn(&mut self, b: &mut ProductBuilder, at: usize) -> Result<(), RuleError> {
        let (s1, (a, a_at), second) = self.bracket_parts(true)?;
        let sgn_var = |v: FactorVar, at: usize| {
            if matches!(v, FactorVar::W | FactorVar::D | FactorVar::T) {
                Ok(v)
            } else {
                Err(RuleError {
                    offset: at,
                    kind: RuleErrorKind::SgnVariable,
                })
            }
        };
        match (a, second) {
            (Operand::Var(v), None) => {
                let v = sgn_var(v, a_at)?;
                if s1 {
                    return Err(RuleError {
                        offset: a_at,
                        kind: RuleErrorKind::SgnNegated,
                    });
                }
                self.close()?;
                self.push_factor(
                    b,
                    Factor {
                        var: v,
                        constant: None,
                        sgn: true,
                    },
                    at,
                )
            }
            (Operand::Var(v), Some((s2, (Operand::Lit(l), l_at)))) => {
                let v = sgn_var(v, a_at)?;
                if s1 {
                    return Err(RuleError {
                        offset: a_at,
                        kind: RuleErrorKind::SgnNegated,
                    });
                }
                self.close()?;
                self.var_const_factor(b, v, false, l, s2, l_at, true, at)
            }
            (Operand::Lit(l), Some((s2, (Operand::Var(v), v_at)))) => {
                let v = sgn_var(v, v_at)?;
                if s2 {
                    return Err(RuleError {
                        offset: v_at,
                        kind: RuleErrorKind::SgnNegated,
                    });
                }
                self.close()?;
                self.var_const_factor(b, v, false, l, s1, a_at, true, at)
            }
            (Operand::Lit(_), None) => Err(RuleError {
                offset: a_at,
                kind: RuleErrorKind::SgnVariable,
            }),
            (_, Some((_, (_, at2)))) => Err(RuleError {
                offset: at2,
                kind: RuleErrorKind::Expected {
                    expected: "one of w, d, t and one number in sgn(..)",
                    found: self.found(at2),
                },
            }),
        }
    }
}

fn finish_product(b: ProductBuilder) -> Result<Product, RuleError> {
    let mut m = b.mantissa;
    let mut e = b.exponent;
    while m.abs() > 7 && m % 2 == 0 && e < 8 {
        m /= 2;
        e += 1;
    }
    let err = |kind| RuleError {
        offset: b.start,
        kind,
    };
    let dependency = b.dependency.ok_or(err(RuleErrorKind::MissingDependency))?;
    if !(MANTISSA_RANGE.0 as i128..=MANTISSA_RANGE.1 as i128).contains(&m) {
        return Err(err(RuleErrorKind::MantissaOutOfRange {
            mantissa: m,
            exponent: e,
        }));
    }
    if !(EXPONENT_RANGE.0 as i64..=EXPONENT_RANGE.1 as i64).contains(&e) {
        return Err(err(RuleErrorKind::ExponentOutOfRange {
            mantissa: m,
            exponent: e,
        }));
    }
    Ok(Product {
        dependency,
        mantissa: m as i8,
        exponent: e as i8,
        factors: b.factors,
        n_factors: b.n_factors as u8,
    })
}
