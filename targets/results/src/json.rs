//! A deterministic JSON layout for `summary.json`: objects indented by two
//! spaces one key per line, arrays of scalars on one line (`[0, 1, 2]`),
//! arrays of objects one object per line group, and floats in a fixed
//! spelling that does not depend on the serde_json version.

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};

#[derive(Clone, Copy)]
struct Frame {
    array: bool,
    /// Some(first) when an array element has been announced but not begun.
    pending: Option<bool>,
    /// An array that got an object element, or an object that got a key.
    multiline: bool,
}

#[derive(Default)]
struct SummaryFormatter {
    stack: Vec<Frame>,
}

fn indent<W: ?Sized + Write>(w: &mut W, levels: usize) -> io::Result<()> {
    w.write_all(b"\n")?;
    for _ in 0..levels {
        w.write_all(b"  ")?;
    }
    Ok(())
}

impl SummaryFormatter {
    /// Before a scalar, a string or an array: the compact separator.
    fn scalar<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(top) = self.stack.last_mut() {
            if let Some(first) = top.pending.take() {
                if !first {
                    w.write_all(b", ")?;
                }
            }
        }
        Ok(())
    }
}

/// The shortest decimal that reads back as the same `f64` (Rust's `{}` /
/// `{:e}`, both shortest-round-trip), as `1.5`, `100.0`, `-0.0`, `1e300`,
/// `5e-324`; plain notation for `1e-5 <= |x| < 1e16`, exponent otherwise.
/// Non-finite values are `null` (JSON has no NaN).
pub(crate) fn format_f64(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_string();
    }
    let a = x.abs();
    if a == 0.0 || (1e-5..1e16).contains(&a) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        format!("{x:e}")
    }
}

impl Formatter for SummaryFormatter {
    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.scalar(w)?;
        w.write_all(b"null")
    }
    fn write_bool<W: ?Sized + Write>(&mut self, w: &mut W, v: bool) -> io::Result<()> {
        self.scalar(w)?;
        w.write_all(if v { b"true" } else { b"false" })
    }
    fn write_i8<W: ?Sized + Write>(&mut self, w: &mut W, v: i8) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_i16<W: ?Sized + Write>(&mut self, w: &mut W, v: i16) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_i32<W: ?Sized + Write>(&mut self, w: &mut W, v: i32) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_i64<W: ?Sized + Write>(&mut self, w: &mut W, v: i64) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_i128<W: ?Sized + Write>(&mut self, w: &mut W, v: i128) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_u8<W: ?Sized + Write>(&mut self, w: &mut W, v: u8) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_u16<W: ?Sized + Write>(&mut self, w: &mut W, v: u16) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_u32<W: ?Sized + Write>(&mut self, w: &mut W, v: u32) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_u64<W: ?Sized + Write>(&mut self, w: &mut W, v: u64) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_u128<W: ?Sized + Write>(&mut self, w: &mut W, v: u128) -> io::Result<()> {
        self.scalar(w)?;
        write!(w, "{v}")
    }
    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
        self.scalar(w)?;
        w.write_all(format_f64(f64::from(v)).as_bytes())
    }
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
        self.scalar(w)?;
        w.write_all(format_f64(v).as_bytes())
    }
    fn write_number_str<W: ?Sized + Write>(&mut self, w: &mut W, v: &str) -> io::Result<()> {
        self.scalar(w)?;
        w.write_all(v.as_bytes())
    }
    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.scalar(w)?;
        w.write_all(b"\"")
    }
    fn write_raw_fragment<W: ?Sized + Write>(&mut self, w: &mut W, f: &str) -> io::Result<()> {
        self.scalar(w)?;
        w.write_all(f.as_bytes())
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.scalar(w)?;
        self.stack.push(Frame {
            array: true,
            pending: None,
            multiline: false,
        });
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(f) = self.stack.pop() {
            if f.multiline {
                indent(w, self.stack.len())?;
            }
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, _w: &mut W, first: bool) -> io::Result<()> {
        if let Some(top) = self.stack.last_mut() {
            top.pending = Some(first);
        }
        Ok(())
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        let depth = self.stack.len();
        if let Some(top) = self.stack.last_mut() {
            if top.array {
                if let Some(first) = top.pending.take() {
                    if !first {
                        w.write_all(b",")?;
                    }
                    top.multiline = true;
                    indent(w, depth)?;
                }
            }
        }
        self.stack.push(Frame {
            array: false,
            pending: None,
            multiline: false,
        });
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(f) = self.stack.pop() {
            if f.multiline {
                indent(w, self.stack.len())?;
            }
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        let depth = self.stack.len();
        if let Some(top) = self.stack.last_mut() {
            top.multiline = true;
        }
        indent(w, depth)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }
}

/// `value` as JSON in the summary layout, ending in a newline.
pub(crate) fn to_summary_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SummaryFormatter::default());
    value.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(out)
}
