//! Property tests over the two readers: whatever the bytes, reading,
//! validating, summarising and dumping a network returns a value or an error
//! and never panics. Mutations start from the examples so the fuzzer reaches
//! deep into the structure; `PROPTEST_CASES` raises the count for a soak run.

use proptest::prelude::*;
use spikeforge_compiler::{dump, load, sfir, summary, validate, yaml};
use std::path::Path;

fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    v.sort();
    v.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

/// Everything downstream of a successful read must cope with any network.
fn exercise(net: &spikeforge_compiler::ir::Network) {
    let d = validate::validate(net);
    let _ = summary::summarize(net);
    let _ = dump::dump(net);
    let _ = d.to_string();
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Replace(usize, u8),
    Insert(usize, String),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), prop_oneof![Just("-".to_string()), Just(": ".to_string()), Just("\n  ".to_string()), Just("{".to_string()), Just("[".to_string()), Just("-1e309".to_string()), Just("!tag ".to_string()), Just("&a *a".to_string()), "[ -~]{0,12}"])
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), 0usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let n = bytes.len().max(1);
        match m {
            Mutation::Truncate(i) => bytes.truncate(i % n),
            Mutation::Replace(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = *b;
                }
            }
            Mutation::Insert(i, s) => {
                let i = i % (bytes.len() + 1);
                bytes.splice(i..i, s.bytes());
            }
            Mutation::Delete(i, k) => {
                let i = i % n;
                let end = (i + k).min(bytes.len());
                if i < end {
                    bytes.drain(i..end);
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn yaml_reader_never_panics(which in 0usize..4, muts in prop::collection::vec(mutation(), 1..6)) {
        let ex = examples();
        let bytes = apply(ex[which % ex.len()].clone().into_bytes(), &muts);
        if let Ok(net) = load::load_bytes("fuzz.yaml", Path::new("fuzz.yaml"), &bytes) {
            exercise(&net);
        }
    }

    #[test]
    fn yaml_reader_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        if let Ok(net) = yaml::parse(&text, "fuzz.yaml") {
            exercise(&net);
        }
    }

    #[test]
    fn sfir_reader_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(net) = sfir::decode(&bytes) {
            exercise(&net);
        }
    }

    /// Mutate the protobuf payload and re-seal the header, so the mutations
    /// reach the protobuf decoder and then validation.
    #[test]
    fn sfir_payload_mutations_never_panic(which in 0usize..4, muts in prop::collection::vec(mutation(), 1..6)) {
        let ex = examples();
        let net = yaml::parse(&ex[which % ex.len()], "ex.yaml").unwrap();
        let good = sfir::encode(&net);
        let payload = apply(good[sfir::HEADER_LEN..].to_vec(), &muts);
        let mut file = Vec::new();
        file.extend_from_slice(&good[..8]);
        file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        file.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        file.extend_from_slice(&payload);
        if let Ok(net) = sfir::decode(&file) {
            exercise(&net);
        }
    }
}
