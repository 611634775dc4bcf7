//! Errors of the network reference.

/// Why the reference cannot run a network (or a request on a running one).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// The expansion does not belong to the network (different populations,
    /// projections or dt).
    #[error("the expanded network does not match the IR: {0}")]
    Mismatch(String),
    /// A model parameter the reference cannot integrate (e.g. `tau_m <= 0`);
    /// validation should have caught it.
    #[error("population '{population}': {message}")]
    InvalidParameter { population: String, message: String },
    /// Something the reference does not simulate (e.g. a `signed` receptor onto IF_curr_exp).
    #[error("projection '{projection}': {message}")]
    Unsupported { projection: String, message: String },
    /// A synapse refers to a neuron outside its population.
    #[error("projection '{projection}': synapse #{index} refers to neuron {neuron}, but population '{population}' has {size} neurons")]
    SynapseOutOfRange { projection: String, index: usize, population: String, neuron: u32, size: u32 },
    /// A recording names a population that does not exist.
    #[error("{recording}: population '{population}' does not exist")]
    UnknownPopulation { recording: String, population: String },
    /// A weight recording names a projection that does not exist.
    #[error("weight recording: projection '{projection}' does not exist")]
    UnknownProjection { projection: String },
    /// A state variable that the population's model does not have.
    #[error("state recording of '{population}': '{variable}' is not a state variable of a {model} population; expected one of: {expected}")]
    UnknownVariable { population: String, variable: String, model: &'static str, expected: String },
    /// A recorded neuron index outside the population.
    #[error("{recording}: neuron {neuron} but population '{population}' has {size} neurons")]
    NeuronOutOfRange { recording: String, population: String, neuron: u32, size: u32 },
    /// A recording with no content (`Recording.what` unset).
    #[error("a recording has nothing to record (empty `what`)")]
    EmptyRecording,
    /// A plasticity rule the reference cannot run on this projection (e.g.
    /// learned delays, an initial weight outside the rule's domain).
    #[error("projection '{projection}', plasticity rule '{rule}': {message}")]
    Plasticity { projection: String, rule: String, message: String },
    /// An index passed to the stepping API is out of range.
    #[error("{what} index {index} out of range (there are {len})")]
    IndexOutOfRange { what: &'static str, index: usize, len: usize },
}
