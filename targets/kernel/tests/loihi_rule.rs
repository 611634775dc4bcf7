//! Tests of the Lava rule parser `spikeforge_kernel::loihi::rule`.
//!
//! `ACCEPTED` and `REJECTED_BY_LAVA` were generated with lava-nc 0.10.0
//! (Python 3.10.13, numpy 1.26.4) by:
//!
//! ```python
//! from lava.magma.core.learning.symbolic_equation import SymbolicEquation
//! from lava.magma.core.learning.product_series import ProductSeries
//! for r in RULES:
//!     try:
//!         out = str(ProductSeries(SymbolicEquation("dw", r)))
//!     except Exception as e:
//!         out = "ERROR " + type(e).__name__ + ": " + str(e)
//! ```
//!
//! The parser must print exactly Lava's `str(ProductSeries)` for every rule
//! Lava accepts, and reject every rule Lava rejects (with our own reason).

use spikeforge_kernel::loihi::rule::{
    common_decimate_exponent, Dependency, FactorVar, ProductSeries, RuleError, RuleErrorKind,
    Target, MAX_FACTORS, MAX_PRODUCTS,
};

const ACCEPTED: &[(&str, &str)] = &[
    ("2^-2 * x1 * y0 - 2^-2 * y1 * x0",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=y0, scaling=1*2^(5-7), target=dw, num_factors=1\n        Factors:\n            (x1+C, C = None)\n    Product: dependency=x0, scaling=-1*2^(5-7), target=dw, num_factors=1\n        Factors:\n            (y1+C, C = None)\n"),
    ("3*2^-4*y0*x1*(y1+8) - 5*2^-3*x0*y1 + 2^-1*x0*y0",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=y0, scaling=3*2^(3-7), target=dw, num_factors=2\n        Factors:\n            (x1+C, C = None)\n            (y1+C, C = 8)\n    Product: dependency=x0, scaling=-5*2^(4-7), target=dw, num_factors=1\n        Factors:\n            (y1+C, C = None)\n    Product: dependency=x0, scaling=1*2^(6-7), target=dw, num_factors=1\n        Factors:\n            (y0+C, C = None)\n"),
    ("-x0*y1",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=-1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (y1+C, C = None)\n"),
    ("16*x0",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=4*2^(9-7), target=dw, num_factors=0\n        Factors:\n"),
    ("u0*w*2^-6",
     "ProductSeries: decimate_exponent=0\n    Product: dependency=u, scaling=1*2^(1-7), target=dw, num_factors=1\n        Factors:\n            (w+2C, C = None)\n"),
    ("-2^-6*u0*w",
     "ProductSeries: decimate_exponent=0\n    Product: dependency=u, scaling=-1*2^(1-7), target=dw, num_factors=1\n        Factors:\n            (w+2C, C = None)\n"),
    ("u1*x1*y1*(2^-7)",
     "ProductSeries: decimate_exponent=1\n    Product: dependency=u, scaling=1*2^(0-7), target=dw, num_factors=2\n        Factors:\n            (x1+C, C = None)\n            (y1+C, C = None)\n"),
    ("x0*(8-y1)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=-1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (y1+C, C = -8)\n"),
    ("y0*(-x1+3)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=y0, scaling=-1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (x1+C, C = -3)\n"),
    ("x0*sgn(w+3)*2^2",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(9-7), target=dw, num_factors=1\n        Factors:\n            (sgn(w+2C), C = 3)\n"),
    ("y0*sgn(d)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=y0, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (sgn(d+C), C = None)\n"),
    ("x0*(w-4)*(t+1)*(d+0)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(7-7), target=dw, num_factors=3\n        Factors:\n            (w+2C, C = -4)\n            (t+2C, C = 1)\n            (d+C, C = 0)\n"),
    ("y0 * x0 * x1",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=y0, scaling=1*2^(7-7), target=dw, num_factors=2\n        Factors:\n            (x0+C, C = None)\n            (x1+C, C = None)\n"),
    ("x0*(x0+1)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (x0+C, C = 1)\n"),
    ("12*2^-3*y0",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=y0, scaling=6*2^(5-7), target=dw, num_factors=0\n        Factors:\n"),
    ("  x0  *  2 ^ 3 ",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(10-7), target=dw, num_factors=0\n        Factors:\n"),
    ("u2*x1 + u2*y1",
     "ProductSeries: decimate_exponent=2\n    Product: dependency=u, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (x1+C, C = None)\n    Product: dependency=u, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (y1+C, C = None)\n"),
    ("x0*y1*(-3)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=-3*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (y1+C, C = None)\n"),
    ("x0*14*2^-8",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=7*2^(0-7), target=dw, num_factors=0\n        Factors:\n"),
    ("-8*x0",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=-4*2^(8-7), target=dw, num_factors=0\n        Factors:\n"),
    ("+x0*y2*y3 - y0*x2",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(7-7), target=dw, num_factors=2\n        Factors:\n            (y2+C, C = None)\n            (y3+C, C = None)\n    Product: dependency=y0, scaling=-1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (x2+C, C = None)\n"),
    ("x0*sgn(2+t)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (sgn(t+2C), C = 2)\n"),
    ("u1*u1*x1",
     "ProductSeries: decimate_exponent=1\n    Product: dependency=u, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (x1+C, C = None)\n"),
    ("x0*(x1+3*2^2)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (x1+C, C = 12)\n"),
    ("x0*(2^3+x1)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(7-7), target=dw, num_factors=1\n        Factors:\n            (x1+C, C = 8)\n"),
    ("x0*(2^3)*(3)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=3*2^(10-7), target=dw, num_factors=0\n        Factors:\n"),
    ("y0*sgn(t-3)*(-2)*2^-1",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=y0, scaling=-2*2^(6-7), target=dw, num_factors=1\n        Factors:\n            (sgn(t+2C), C = -3)\n"),
    ("x0*(y1-128)*(w+255)",
     "ProductSeries: decimate_exponent=None\n    Product: dependency=x0, scaling=1*2^(7-7), target=dw, num_factors=2\n        Factors:\n            (y1+C, C = -128)\n            (w+2C, C = 255)\n"),
];

/// Rejected by Lava 0.10.0 (its message after `=>`).
const REJECTED_BY_LAVA: &[(&str, &str)] = &[
    ("x0*1000*2^-8", "ValueError: Mantissa magnitude too large or not representable as 's_mantissa = x * 2**y'."),
    ("x0*2^9", "ValueError: Exponent of scaling constant exponent must within -7 and 9."),
    ("x0*16*2^7", "ValueError: Mantissa magnitude too large or not representable as 's_mantissa = x * 2**y'."),
    ("x0*2^-8", "ValueError: Exponent of scaling constant exponent must within -7 and 9."),
    ("9*x0", "ValueError: Mantissa magnitude too large or not representable as 's_mantissa = x * 2**y'."),
    ("x1*y1", "ValueError: No dependency found."),
    ("u0*x1 + u1*y1", "ValueError: Can't have multiple decimate exponents in the same ProductSeries."),
    ("x0*u1", "ValueError: Can't have a non-null decimate exponent with a dependency different from u in Product. Found dependency is x0"),
    ("x0*-8", "ValueError: No dependency found."),
    ("x0*sgn(x1)", "ValueError: sgn(..) function can only be applied to 'w', 'd' or 't' variables."),
    ("x0*sgn(-w+1)", "ValueError: Variable in sgn(..) function cannot be negative."),
    ("x0*sgn(3-w)", "ValueError: Variable in sgn(..) function cannot be negative."),
];

fn parse(s: &str) -> Result<ProductSeries, RuleError> {
    ProductSeries::parse(Target::Dw, s)
}

fn err(s: &str) -> RuleError {
    match parse(s) {
        Ok(p) => panic!("{s:?} was accepted:\n{p}"),
        Err(e) => e,
    }
}

#[test]
fn prints_exactly_like_lava() {
    for (src, want) in ACCEPTED {
        let p = parse(src).unwrap_or_else(|e| panic!("{src:?} rejected: {e}"));
        assert_eq!(p.to_string(), *want, "rule {src:?}");
    }
}

#[test]
fn rejects_what_lava_rejects() {
    for (src, lava_msg) in REJECTED_BY_LAVA {
        let e = err(src);
        // the reason renders to a non-empty human sentence
        assert!(!e.to_string().is_empty(), "{src:?} (Lava: {lava_msg})");
    }
}

#[test]
fn fixture_rules_structure() {
    // fixture `default`: 2^-2 * x1 * y0 - 2^-2 * y1 * x0
    let p = parse("2^-2 * x1 * y0 - 2^-2 * y1 * x0").unwrap();
    assert_eq!(p.target(), Target::Dw);
    assert_eq!(p.decimate_exponent(), None);
    let pr = p.products();
    assert_eq!(pr.len(), 2);
    assert_eq!(
        (pr[0].dependency, pr[0].mantissa, pr[0].exponent),
        (Dependency::Y0, 1, -2)
    );
    assert_eq!(pr[0].stored_exponent(), 5);
    assert_eq!(pr[0].factors().len(), 1);
    assert_eq!(pr[0].factors()[0].var, FactorVar::X1);
    assert_eq!(pr[0].factors()[0].constant, None);
    assert_eq!(
        (pr[1].dependency, pr[1].mantissa, pr[1].exponent),
        (Dependency::X0, -1, -2)
    );
    assert_eq!(pr[1].factors()[0].var, FactorVar::Y1);
    // fixture `multifactor`
    let p = parse("3*2^-4*y0*x1*(y1+8) - 5*2^-3*x0*y1 + 2^-1*x0*y0").unwrap();
    let pr = p.products();
    assert_eq!(pr.len(), 3);
    assert_eq!(
        (pr[0].dependency, pr[0].mantissa, pr[0].exponent),
        (Dependency::Y0, 3, -4)
    );
    assert_eq!(pr[0].factors()[1].var, FactorVar::Y1);
    assert_eq!(pr[0].factors()[1].constant, Some(8));
    assert_eq!(pr[0].width(), 7 + 7 + 4);
    assert_eq!(
        (pr[1].dependency, pr[1].mantissa, pr[1].exponent),
        (Dependency::X0, -5, -3)
    );
    assert_eq!(
        (pr[2].dependency, pr[2].mantissa, pr[2].exponent),
        (Dependency::X0, 1, -1)
    );
    assert_eq!(pr[2].factors()[0].var, FactorVar::Y0);
    assert_eq!(pr[2].factors()[0].var.width(), 1);
}

#[test]
fn error_kinds_and_offsets() {
    use RuleErrorKind as K;
    let e = err("x0*1000*2^-8");
    assert_eq!(e.offset, 0);
    assert_eq!(
        e.kind,
        K::MantissaOutOfRange {
            mantissa: 125,
            exponent: -5
        }
    );
    assert_eq!(
        err("x0*2^9").kind,
        K::ExponentOutOfRange {
            mantissa: 1,
            exponent: 9
        }
    );
    assert_eq!(
        err("x0*2^-8").kind,
        K::ExponentOutOfRange {
            mantissa: 1,
            exponent: -8
        }
    );
    assert_eq!(
        err("x0*16*2^7").kind,
        K::MantissaOutOfRange {
            mantissa: 8,
            exponent: 8
        }
    );
    assert_eq!(
        err("9*x0").kind,
        K::MantissaOutOfRange {
            mantissa: 9,
            exponent: 0
        }
    );
    // product-level errors point at the start of the product (its sign included)
    let e = err("x0*y1 - x1*y1");
    assert_eq!((e.offset, e.kind), (6, K::MissingDependency));
    assert_eq!(err("x1*y1").kind, K::MissingDependency);
    let e = err("u0*x1 + u1*y1");
    assert_eq!(
        (e.offset, e.kind),
        (8, K::MixedDecimateExponent { first: 0, found: 1 })
    );
    let e = err("x0*u1");
    assert_eq!((e.offset, e.kind), (3, K::UkAfterSpikeDependency));
    let e = err("x0*-8");
    assert_eq!(e.offset, 3);
    assert!(
        matches!(
            e.kind,
            K::Expected {
                found: Some('-'),
                ..
            }
        ),
        "{e:?}"
    );
    let e = err("x0*sgn(x1)");
    assert_eq!((e.offset, e.kind), (7, K::SgnVariable));
    assert_eq!(err("x0*sgn(-w+1)").kind, K::SgnNegated);
    let e = err("x0*sgn(3-w)");
    assert_eq!((e.offset, e.kind), (9, K::SgnNegated));
    assert_eq!(err("x0*sgn(3)").kind, K::SgnVariable);
    // bad tokens
    let e = err("x0*z1");
    assert_eq!(e.offset, 3);
    assert!(
        matches!(
            e.kind,
            K::Expected {
                found: Some('z'),
                ..
            }
        ),
        "{e:?}"
    );
    let e = err("x0*x3");
    assert_eq!(e.offset, 4);
    assert!(
        matches!(
            e.kind,
            K::Expected {
                found: Some('3'),
                ..
            }
        ),
        "{e:?}"
    );
    let e = err("y0*y4");
    assert_eq!(e.offset, 4);
    let e = err("x0*u");
    assert!(matches!(e.kind, K::Expected { found: None, .. }), "{e:?}");
    assert_eq!(e.offset, 4);
    let e = err("x0 * é");
    assert!(
        matches!(
            e.kind,
            K::Expected {
                found: Some('é'),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.offset, 5);
    let e = err("x0\t*y1");
    assert!(
        matches!(
            e.kind,
            K::Expected {
                found: Some('\t'),
                ..
            }
        ),
        "{e:?}"
    );
    // empty
    assert_eq!(err("").kind, K::Empty);
    assert_eq!(err("   ").kind, K::Empty);
    // incomplete
    let e = err("x0*");
    assert!(matches!(e.kind, K::Expected { found: None, .. }));
    assert_eq!(e.offset, 3);
    let e = err("x0 + ");
    assert!(matches!(e.kind, K::Expected { found: None, .. }));
    let e = err("x0*(x1+8");
    assert!(matches!(e.kind, K::Expected { found: None, .. }));
    assert_eq!(
        err("x0*(x1+8))").kind,
        K::Expected {
            expected: "'*', '+', '-' or the end of the rule",
            found: Some(')')
        }
    );
    // leading zeros, huge numbers
    assert_eq!(err("x0*07").kind, K::LeadingZero);
    assert_eq!(err("x0*2^-07").kind, K::LeadingZero);
    assert_eq!(
        err("x0*99999999999999999999999999999999999999999").kind,
        K::NumberTooLarge
    );
    assert_eq!(err("x0*(x1+99999999999)").kind, K::NumberTooLarge);
}

#[test]
fn stricter_than_lava_where_lava_is_surprising() {
    use RuleErrorKind as K;
    // Lava reads `x12` as x1*2
    assert!(matches!(
        err("x12*y0").kind,
        K::Expected {
            found: Some('2'),
            ..
        }
    ));
    // stray '*'
    assert!(matches!(
        err("x0**y0").kind,
        K::Expected {
            found: Some('*'),
            ..
        }
    ));
    // Lava drops the sign of a lone variable in brackets
    assert_eq!(err("x0*(-y1)").kind, K::NegatedLoneVariable);
    // Lava drops a lone dependency in brackets
    assert_eq!(err("x0*(y0)").kind, K::LoneDependencyInBracket);
    // Lava ignores everything after the constant, and reads '*' as '+'
    assert!(matches!(
        err("x0*(y1+8+2)").kind,
        K::Expected {
            found: Some('+'),
            ..
        }
    ));
    assert!(matches!(
        err("x0*(y1*8)").kind,
        K::Expected {
            found: Some('*'),
            ..
        }
    ));
    assert_eq!(err("x0*((y1+8))").kind, K::NestedBracket);
    assert_eq!(err("x0*(u1+1)").kind, K::UkNotAllowedHere);
    // Lava keeps a float constant
    assert_eq!(err("x0*(y1+2^-1)").kind, K::NonIntegerConstant);
    // but integral forms with negative exponents are fine
    let p = parse("x0*(y1+4*2^-1)").unwrap();
    assert_eq!(p.products()[0].factors()[0].constant, Some(2));
}

#[test]
fn capacities() {
    let one = "x0*y1";
    let ok: Vec<&str> = std::iter::repeat_n(one, MAX_PRODUCTS).collect();
    assert_eq!(
        parse(&ok.join(" + ")).unwrap().products().len(),
        MAX_PRODUCTS
    );
    let too_many: Vec<&str> = std::iter::repeat_n(one, MAX_PRODUCTS + 1).collect();
    let src = too_many.join(" + ");
    let e = err(&src);
    assert_eq!(e.kind, RuleErrorKind::TooManyProducts);
    assert_eq!(e.offset, src.rfind('+').unwrap());
    let f_ok = format!("x0{}", "*x1".repeat(MAX_FACTORS));
    assert_eq!(
        parse(&f_ok).unwrap().products()[0].factors().len(),
        MAX_FACTORS
    );
    let f_bad = format!("x0{}", "*x1".repeat(MAX_FACTORS + 1));
    let e = err(&f_bad);
    assert_eq!(e.kind, RuleErrorKind::TooManyFactors);
    assert_eq!(e.offset, f_bad.len() - 2);
}

#[test]
fn decimate_exponent_across_rules() {
    let dw = ProductSeries::parse(Target::Dw, "u2*x1 - x0*y1").unwrap();
    let dd = ProductSeries::parse(Target::Dd, "u2*d*2^-3").unwrap();
    let dt = ProductSeries::parse(Target::Dt, "u1*t").unwrap();
    let plain = ProductSeries::parse(Target::Dt, "y0*x1").unwrap();
    assert_eq!(common_decimate_exponent(&[&dw, &dd]), Ok(Some(2)));
    assert_eq!(common_decimate_exponent(&[&plain]), Ok(None));
    let e = common_decimate_exponent(&[&dw, &plain, &dd, &dt]).unwrap_err();
    assert_eq!(e.first, (Target::Dw, 2));
    assert_eq!(e.second, (Target::Dt, 1));
    assert!(e.to_string().contains("u2") && e.to_string().contains("u1"));
    // the target name is printed
    assert!(dd.to_string().contains("target=dd"));
    assert!(dt.to_string().contains("target=dt"));
}

#[test]
fn error_display_names_offset_and_reason() {
    let e = err("x1*y1");
    assert_eq!(
        e.to_string(),
        "at byte 0: the product has no dependency (x0, y0 or u_k)"
    );
    let e = err("x0*x3");
    assert_eq!(
        e.to_string(),
        "at byte 4: expected 0, 1 or 2 after 'x', found '3'"
    );
}

/// Every rule string the tests above accept, for every target, survives the
/// program-image word encoding unchanged (`loihi::encoding`), and its words
/// are canonical (decoding then re-encoding gives the same words).
#[test]
fn every_accepted_rule_round_trips_through_the_word_encoding() {
    use spikeforge_kernel::loihi::encoding::{decode_rules, RuleSet};
    let mut sources: Vec<String> = ACCEPTED.iter().map(|(s, _)| s.to_string()).collect();
    sources.push(vec!["x0*y1"; MAX_PRODUCTS].join(" + "));
    sources.push(format!("x0{}", "*x1".repeat(MAX_FACTORS)));
    sources.push("x0*(y1+4*2^-1)".into());
    sources.push("u2*x1 - x0*y1".into());
    sources.push("u2*d*2^-3".into());
    sources.push("y0*x1".into());
    sources.push("x0*(w-2147483648)*sgn(t+2147483647)".into());
    let mut checked = 0;
    for src in &sources {
        for target in [Target::Dw, Target::Dd, Target::Dt] {
            let s = ProductSeries::parse(target, src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
            let set = match target {
                Target::Dw => RuleSet {
                    dw: Some(s),
                    ..RuleSet::default()
                },
                Target::Dd => RuleSet {
                    dd: Some(s),
                    ..RuleSet::default()
                },
                Target::Dt => RuleSet {
                    dt: Some(s),
                    ..RuleSet::default()
                },
            };
            let words = set.encode().unwrap();
            let back = decode_rules(&words).unwrap_or_else(|e| panic!("{src:?}: {e}"));
            assert_eq!(back, set, "{src:?}");
            // the Display (Lava's str(ProductSeries)) is unchanged too
            let shown = |r: &RuleSet| format!("{}", r.dw.or(r.dd).or(r.dt).unwrap());
            assert_eq!(shown(&back), shown(&set));
            assert_eq!(back.encode().unwrap(), words, "{src:?}");
            checked += 1;
        }
    }
    // all three targets at once (one u_k shared)
    let set = RuleSet {
        dw: Some(ProductSeries::parse(Target::Dw, "u2*x1 - x0*y1").unwrap()),
        dd: Some(ProductSeries::parse(Target::Dd, "u2*d*2^-3").unwrap()),
        dt: Some(ProductSeries::parse(Target::Dt, "y0*sgn(t-3)*(-2)*2^-1").unwrap()),
    };
    assert_eq!(decode_rules(&set.encode().unwrap()).unwrap(), set);
    assert_eq!(checked, 3 * sources.len());
}
