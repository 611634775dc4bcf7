//! The readable text form of the IR (`spikeforge ir --dump`).
//!
//! One line per object, its parameters inline, enums by name, long arrays
//! shortened to their first values and their length. The text is for
//! reading; the `.sfir` file is the interchange format.

use crate::ir;
use serde_json::Value;
use std::fmt::Write;

/// Arrays longer than this are shown as their first values and a count.
const MAX_ARRAY: usize = 8;

/// Renders a network as text.
pub fn dump(net: &ir::Network) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "network {:?} schema_version={} dt_ms={} duration_ms={} seed={}",
        net.name,
        net.schema_version,
        num(net.dt_ms),
        num(net.duration_ms),
        net.seed
    );
    if let Some(p) = &net.provenance {
        let _ = writeln!(s, "provenance front_end={:?} source={:?}", p.front_end, p.source);
        for n in &p.notes {
            let _ = writeln!(s, "  note {n:?}");
        }
    }
    for p in &net.populations {
        let _ = write!(s, "population {} size={}", p.name, p.size);
        if !p.shape.is_empty() {
            let _ = write!(s, " shape={:?}", p.shape);
        }
        let _ = writeln!(s);
        if let Some(m) = &p.model {
            let _ = writeln!(s, "  {}", oneof(&to_value(m)));
        }
        if let Some(l) = &p.netx_layer {
            let _ = writeln!(s, "  netx_layer {}", inline(&to_value(l), ""));
        }
    }
    for r in &net.plasticity_rules {
        let _ = writeln!(s, "rule {}", r.name);
        if let Some(k) = &r.rule {
            let _ = writeln!(s, "  {}", oneof(&to_value(k)));
        }
    }
    for p in &net.projections {
        let receptor = ir::Receptor::try_from(p.receptor).map(|r| r.as_str_name()).unwrap_or("?");
        let _ = write!(s, "projection {}: {} -> {} receptor={}", p.name, p.pre, p.post, receptor);
        if !p.plasticity.is_empty() {
            let _ = write!(s, " plasticity={}", p.plasticity);
        }
        let _ = writeln!(s);
        if let Some(c) = &p.connectivity {
            let _ = writeln!(s, "  {}", oneof(&to_value(c)));
        }
        if let Some(w) = &p.weight {
            let _ = writeln!(s, "  weight {}", distribution(w));
        }
        if let Some(d) = &p.delay_ms {
            let _ = writeln!(s, "  delay_ms {}", distribution(d));
        }
        if !p.netx_delay.is_empty() {
            let _ = writeln!(s, "  netx_delay {}", inline(&to_value(&p.netx_delay), ""));
        }
        if let Some(l) = &p.loihi {
            let _ = writeln!(s, "  loihi {}", inline(&to_value(l), ""));
        }
    }
    for r in &net.recordings {
        if let Some(w) = &r.what {
            let _ = writeln!(s, "record {}", oneof(&to_value(w)));
        }
    }
    s
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn num(x: f64) -> String {
    let v = serde_json::Number::from_f64(x).map(Value::Number).unwrap_or(Value::String(x.to_string()));
    v.to_string()
}

fn distribution(d: &ir::Distribution) -> String {
    match &d.kind {
        Some(ir::distribution::Kind::Constant(c)) => num(*c),
        Some(k) => oneof(&to_value(k)),
        None => "(none)".into(),
    }
}

/// A serialized prost oneof `{"VariantName": {...}}` as `variant_name { ... }`.
fn oneof(v: &Value) -> String {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next().unwrap();
            format!("{} {}", snake(k), inline(inner, ""))
        }
        other => inline(other, ""),
    }
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Enum-typed fields are serialized as integers; show their names.
fn enum_name(key: &str, n: i64) -> Option<&'static str> {
    let n = i32::try_from(n).ok()?;
    let s = match key {
        "receptor" => ir::Receptor::try_from(n).ok()?.as_str_name(),
        "pairing" => ir::Pairing::try_from(n).ok()?.as_str_name(),
        "weight_dependence" => ir::WeightDependence::try_from(n).ok()?.as_str_name(),
        "sign_mode" => ir::SignMode::try_from(n).ok()?.as_str_name(),
        "variance_form" => ir::VarianceForm::try_from(n).ok()?.as_str_name(),
        "kind" => ir::NetxLayerKind::try_from(n).ok()?.as_str_name(),
        "type" => ir::NetxNeuronType::try_from(n).ok()?.as_str_name(),
        _ => return None,
    };
    Some(s)
}

fn inline(v: &Value, key: &str) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| match v {
                    // A nested oneof shows as its variant.
                    Value::Object(inner) if inner.len() == 1 && inner.keys().next().is_some_and(|n| n.starts_with(|c: char| c.is_ascii_uppercase())) => {
                        format!("{k}: {}", oneof(v))
                    }
                    _ => format!("{k}: {}", inline(v, k)),
                })
                .collect();
            if parts.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        Value::Array(a) => {
            let shown: Vec<String> = a.iter().take(MAX_ARRAY).map(|x| inline(x, key)).collect();
            if a.len() > MAX_ARRAY {
                format!("[{}, … ({} values)]", shown.join(", "), a.len())
            } else {
                format!("[{}]", shown.join(", "))
            }
        }
        Value::Number(n) => match n.as_i64().and_then(|i| enum_name(key, i)) {
            Some(name) => name.to_string(),
            None => n.to_string(),
        },
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}
