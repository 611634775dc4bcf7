//! The IR schema keeps lava-dl netx's names for netx parameters, so a `.net`
//! file's fields have a lossless home under the same names.

use prost::Message;
use prost_types::FileDescriptorSet;
use spikeforge_compiler::ir;

fn message<'a>(set: &'a FileDescriptorSet, name: &str) -> &'a prost_types::DescriptorProto {
    set.file
        .iter()
        .flat_map(|f| f.message_type.iter())
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("message {name} not in the schema"))
}

fn field_names(set: &FileDescriptorSet, name: &str) -> Vec<String> {
    message(set, name).field.iter().map(|f| f.name().to_string()).collect()
}

#[test]
fn netx_fields_keep_their_netx_names() {
    let set = FileDescriptorSet::decode(ir::DESCRIPTOR_SET).unwrap();
    assert_eq!(set.file[0].package(), "spikeforge.ir.v1");
    let neuron = field_names(&set, "NetxNeuron");
    // Every neuron/ field lava-dl's exporters write (formats.md §1.2).
    for netx in [
        "iDecay", "vDecay", "vThMant", "refDelay", "gradedSpike", "wgtExp", "theta", "tauRho", "scaleRho", "activation", "sigma_output", "sinDecay",
        "cosDecay", "thDecay", "refDecay", "vThStep", "messageBits", "weight_exp",
    ] {
        assert!(neuron.contains(&netx.to_string()), "NetxNeuron lacks netx field {netx}: {neuron:?}");
    }
    let conv = field_names(&set, "Convolution");
    for netx in ["inChannels", "outChannels", "kernelSize", "stride", "padding", "dilation", "groups", "weight"] {
        assert!(conv.contains(&netx.to_string()), "Convolution lacks netx field {netx}: {conv:?}");
    }
    let pool = field_names(&set, "Pooling");
    for netx in ["kernelSize", "stride", "padding", "dilation", "weight"] {
        assert!(pool.contains(&netx.to_string()), "Pooling lacks netx field {netx}");
    }
    // Layer kinds and neuron types of netx files.
    let kinds: Vec<_> = set.file[0].enum_type.iter().find(|e| e.name() == "NetxLayerKind").unwrap().value.iter().map(|v| v.name().to_string()).collect();
    for k in ["INPUT", "DENSE", "DENSE_REC", "CONV", "FLATTEN", "POOL", "AVERAGE"] {
        assert!(kinds.contains(&format!("NETX_LAYER_KIND_{k}")), "missing layer kind {k}");
    }
    let types: Vec<_> = set.file[0].enum_type.iter().find(|e| e.name() == "NetxNeuronType").unwrap().value.iter().map(|v| v.name().to_string()).collect();
    for t in ["CUBA", "LOIHI", "SDNN", "RF_PHASE", "RF_IZHIKEVICH", "ADRF_PHASE", "ADRF_IZHIKEVICH"] {
        assert!(types.contains(&format!("NETX_NEURON_TYPE_{t}")), "missing neuron type {t}");
    }
}

#[test]
fn network_carries_a_schema_version_as_field_1() {
    let set = FileDescriptorSet::decode(ir::DESCRIPTOR_SET).unwrap();
    let f = &message(&set, "Network").field[0];
    assert_eq!((f.name(), f.number()), ("schema_version", 1));
}

#[test]
fn every_field_and_message_is_documented() {
    // protox keeps source info; every message and field must carry a comment.
    let set = FileDescriptorSet::decode(ir::DESCRIPTOR_SET).unwrap();
    let file = &set.file[0];
    let info = file.source_code_info.as_ref().expect("descriptor keeps source info");
    let documented: std::collections::HashSet<Vec<i32>> = info
        .location
        .iter()
        .filter(|l| l.leading_comments.as_deref().is_some_and(|c| !c.trim().is_empty()) || l.trailing_comments.as_deref().is_some_and(|c| !c.trim().is_empty()))
        .map(|l| l.path.clone())
        .collect();
    let mut missing = Vec::new();
    for (mi, m) in file.message_type.iter().enumerate() {
        if !documented.contains(&vec![4, mi as i32]) {
            missing.push(m.name().to_string());
        }
        for (fi, f) in m.field.iter().enumerate() {
            // Oneof members are documented at the member message; plain fields need their own comment.
            let in_oneof = f.oneof_index.is_some() && f.r#type() == prost_types::field_descriptor_proto::Type::Message;
            if !in_oneof && !documented.contains(&vec![4, mi as i32, 2, fi as i32]) {
                missing.push(format!("{}.{}", m.name(), f.name()));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented in network.proto: {missing:?}");
}
