//! Measures verify's figures on the examples (long runs; `cargo run --release --example measure -- NET MODE [STEPS] [PROTOCOL]`).
use spikeforge_verify::*;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let net = spikeforge_compiler::load::load(std::path::Path::new(&a[1])).expect("loads");
    let mode = match a[2].as_str() {
        "open" => Mode::OpenLoop,
        "closed" => Mode::ClosedLoop,
        p => Mode::Protocol(Protocol::parse(p).expect("protocol")),
    };
    let n_steps = a.get(3).map(|s| s.parse().expect("steps"));
    let mut opts = VerifyOptions { mode, n_steps, ..Default::default() };
    if let Some(g) = a.get(4) {
        opts.protocol.grid_stride = g.parse().expect("stride");
    }
    let mut r = verify(&net, &opts).expect("verify");
    if let Some(dir) = a.get(5) {
        write_outputs(&mut r, std::path::Path::new(dir)).expect("outputs");
    }
    print!("{}", r.summary());
}
