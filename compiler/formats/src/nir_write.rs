//! Writes a [`NirGraph`] as a `.nir` HDF5 file in nir 1.0.8's layout, so that
//! Python's `nir.read()` accepts it:
//!
//! - `/version`: scalar variable-length UTF-8 string `"1.0.8"`;
//! - `/node`: the graph (`type` = `"NIRGraph"`, `edges` as an (E, 2) array of
//!   variable-length strings, `nodes/<name>/...`, `metadata/...` only when
//!   non-empty);
//! - every node field one dataset in its own datatype: arrays of rank ≥ 1 are
//!   chunked and deflate-compressed (as nir's `write` does with h5py's `gzip`),
//!   scalars are plain datasets, strings are variable-length UTF-8.
//!
//! Absent optional fields (e.g. a LIF `v_reset` that the source file did not
//! have) are not written; nir 1.0.8 fills in its defaults when reading.

use std::path::Path;

use hdf5_pure::{make_i8_type, EnumTypeBuilder, FileBuilder, GroupBuilder};

use crate::array::{NumArray, NumData};
use crate::error::{ErrorKind, FormatError};
use crate::h5::{join, DType, Data, Dataset, MAX_DEPTH};
use crate::nir::{FieldRef, MetaValue, Metadata, NirGraph, NirNode, NirOp};

/// The nir version this writer's layout matches, written to `/version`.
pub const NIR_WRITE_VERSION: &str = "1.0.8";

/// Deflate level, h5py's default for `compression="gzip"`.
const DEFLATE_LEVEL: u32 = 4;

/// Writes `graph` to the file at `path`.
pub fn write_nir(path: impl AsRef<Path>, graph: &NirGraph) -> Result<(), FormatError> {
    let path = path.as_ref();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let bytes = encode(&name, graph)?;
    std::fs::write(path, bytes).map_err(|e| FormatError::new(name, "/", e.into()))
}

/// Encodes `graph` as the bytes of a `.nir` file.
pub fn write_nir_bytes(graph: &NirGraph) -> Result<Vec<u8>, FormatError> {
    encode("<memory>", graph)
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, path: &str, kind: ErrorKind) -> FormatError {
        FormatError::new(self.file, path, kind)
    }

    /// HDF5 link names must be non-empty, hold no `/`, and not be `.`.
    fn check_name(&self, parent: &str, name: &str) -> Result<(), FormatError> {
        if name.is_empty() || name == "." || name.contains('/') || name.contains('\0') {
            return Err(self.err(
                &join(parent, name),
                ErrorKind::Invalid(format!(
                    "`{name}` cannot be an HDF5 name (empty, `.`, or containing `/` or NUL)"
                )),
            ));
        }
        Ok(())
    }
}

fn encode(file: &str, graph: &NirGraph) -> Result<Vec<u8>, FormatError> {
    let cx = Ctx { file };
    let mut fb = FileBuilder::new();
    fb.create_dataset("version")
        .with_vlen_strings(&[NIR_WRITE_VERSION])
        .with_shape(&[]);
    let mut node = fb.create_group("node");
    write_graph(&cx, &mut node, "/node", graph, &Metadata::new(), 0)?;
    // The root graph's own metadata lives in the graph model.
    fb.add_group(node.finish());
    fb.finish()
        .map_err(|e| cx.err("/", ErrorKind::Write(e.to_string())))
}

fn write_graph(
    cx: &Ctx<'_>,
    g: &mut GroupBuilder,
    path: &str,
    graph: &NirGraph,
    node_metadata: &Metadata,
    depth: usize,
) -> Result<(), FormatError> {
    if depth > MAX_DEPTH {
        return Err(cx.err(
            path,
            ErrorKind::Invalid(format!("graphs nested deeper than {MAX_DEPTH} levels")),
        ));
    }
    write_string(g, "type", "NIRGraph");
    let flat: Vec<&str> = graph
        .edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    g.create_dataset("edges")
        .with_vlen_strings(&flat)
        .with_shape(&[graph.edges.len() as u64, 2]);
    let mut nodes = g.create_group("nodes");
    let nodes_path = join(path, "nodes");
    for (name, node) in &graph.nodes {
        cx.check_name(&nodes_path, name)?;
        let node_path = join(&nodes_path, name);
        let mut ng = nodes.create_group(name);
        write_node(cx, &mut ng, &node_path, node, depth)?;
        nodes.add_group(ng.finish());
    }
    g.add_group(nodes.finish());
    // A nested graph node carries its metadata on the node; the root graph on
    // the graph. Both end up in the group's `metadata`.
    let mut meta = graph.metadata.clone();
    meta.extend(node_metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
    write_metadata(cx, g, path, &meta)?;
    Ok(())
}

fn write_node(
    cx: &Ctx<'_>,
    g: &mut GroupBuilder,
    path: &str,
    node: &NirNode,
    depth: usize,
) -> Result<(), FormatError> {
    if let NirOp::Graph(sub) = &node.op {
        return write_graph(cx, g, path, sub, &node.metadata, depth + 1);
    }
    write_string(g, "type", node.op.type_name());
    for (field, value) in node.op.fields() {
        match value {
            FieldRef::Num(a) => write_num(cx, g, &join(path, field), field, a)?,
            FieldRef::Str(s) => write_string(g, field, s),
        }
    }
    write_metadata(cx, g, path, &node.metadata)
}

fn write_metadata(
    cx: &Ctx<'_>,
    g: &mut GroupBuilder,
    path: &str,
    meta: &Metadata,
) -> Result<(), FormatError> {
    if meta.is_empty() {
        return Ok(());
    }
    let mpath = join(path, "metadata");
    let mut mg = g.create_group("metadata");
    write_meta_entries(cx, &mut mg, &mpath, meta, 0)?;
    g.add_group(mg.finish());
    Ok(())
}

fn write_meta_entries(
    cx: &Ctx<'_>,
    g: &mut GroupBuilder,
    path: &str,
    entries: &std::collections::BTreeMap<String, MetaValue>,
    depth: usize,
) -> Result<(), FormatError> {
    if depth > MAX_DEPTH {
        return Err(cx.err(
            path,
            ErrorKind::Invalid(format!("metadata nested deeper than {MAX_DEPTH} levels")),
        ));
    }
    for (k, v) in entries {
        cx.check_name(path, k)?;
        let p = join(path, k);
        match v {
            MetaValue::Data(d) => write_dataset(cx, g, &p, k, d)?,
            MetaValue::Group(sub) => {
                let mut sg = g.create_group(k);
                write_meta_entries(cx, &mut sg, &p, sub, depth + 1)?;
                g.add_group(sg.finish());
            }
        }
    }
    Ok(())
}

fn write_string(g: &mut GroupBuilder, name: &str, value: &str) {
    g.create_dataset(name)
        .with_vlen_strings(&[value])
        .with_shape(&[]);
}

fn shape_u64(shape: &[usize]) -> Vec<u64> {
    shape.iter().map(|&d| d as u64).collect()
}

fn write_num(
    cx: &Ctx<'_>,
    g: &mut GroupBuilder,
    path: &str,
    name: &str,
    a: &NumArray,
) -> Result<(), FormatError> {
    let n: usize = a.shape.iter().product();
    if n != a.data.len() {
        return Err(cx.err(
            path,
            ErrorKind::Invalid(format!(
                "shape {:?} holds {n} values, the array has {}",
                a.shape,
                a.data.len()
            )),
        ));
    }
    let b = g.create_dataset(name);
    match &a.data {
        NumData::F32(v) => b.with_f32_data(v),
        NumData::F64(v) => b.with_f64_data(v),
        NumData::I8(v) => b.with_i8_data(v),
        NumData::I16(v) => b.with_i16_data(v),
        NumData::I32(v) => b.with_i32_data(v),
        NumData::I64(v) => b.with_i64_data(v),
        NumData::U8(v) => b.with_u8_data(v),
        NumData::U16(v) => b.with_u16_data(v),
        NumData::U32(v) => b.with_u32_data(v),
        NumData::U64(v) => b.with_u64_data(v),
    };
    b.with_shape(&shape_u64(&a.shape));
    // numpy arrays are written chunked + gzip by nir; HDF5 cannot chunk
    // scalars or empty arrays, so those stay plain.
    if !a.shape.is_empty() && n > 0 {
        b.with_chunks(&shape_u64(&a.shape))
            .with_deflate(DEFLATE_LEVEL);
    }
    Ok(())
}

fn write_dataset(
    cx: &Ctx<'_>,
    g: &mut GroupBuilder,
    path: &str,
    name: &str,
    d: &Dataset,
) -> Result<(), FormatError> {
    let shape = shape_u64(&d.shape);
    match &d.data {
        Data::Num(n) => write_num(
            cx,
            g,
            path,
            name,
            &NumArray {
                shape: d.shape.clone(),
                data: n.clone(),
            },
        )?,
        Data::Str(v) => {
            let refs: Vec<&str> = v.iter().map(String::as_str).collect();
            match d.dtype {
                DType::FixedString(width) => {
                    let b = g.create_dataset(name);
                    let r = if refs.iter().all(|s| s.is_ascii()) {
                        b.with_ascii_strings_sized(&refs, width)
                    } else {
                        b.with_strings_sized(&refs, width)
                    };
                    r.map_err(|e| cx.err(path, ErrorKind::Write(e.to_string())))?
                        .with_shape(&shape);
                }
                _ => {
                    g.create_dataset(name)
                        .with_vlen_strings(&refs)
                        .with_shape(&shape);
                }
            }
        }
        Data::Bool(v) => {
            // h5py's bool: enum over int8 with FALSE = 0, TRUE = 1.
            let dt = EnumTypeBuilder::with_base(make_i8_type())
                .value("FALSE", 0)
                .value("TRUE", 1)
                .build()
                .map_err(|e| cx.err(path, ErrorKind::Write(e.to_string())))?;
            let raw: Vec<u8> = v.iter().map(|&b| u8::from(b)).collect();
            g.create_dataset(name)
                .with_enum_u8_data(dt, &raw)
                .with_shape(&shape);
        }
    }
    Ok(())
}
