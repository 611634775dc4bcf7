//! Stepping the cores: on the calling thread, or on persistent workers that
//! exchange each step's spikes through a shared board.
//!
//! Each worker owns a fixed set of cores for a whole segment of steps (see
//! [`assign`]) and, in every step `t`:
//!
//! 1. completes the delivery of the spikes of `t − 1` (its local copy)
//!    through its [`Fanout`] to the cores whose rows it merges, then steps
//!    its cores (the others receive the spikes themselves; update, record)
//!    and publishes all their spikes of `t` in its mailbox on the shared
//!    [`SpikeBoard`] (slot parity `t & 1`), the stamp `t + 1` last;
//! 2. delivers its own cores' spikes of `t` (the first part of step
//!    `t + 1`'s delivery, [`Fanout::deliver_early`]: it needs nobody else's
//!    spikes, and takes the time theirs need to arrive);
//! 3. waits until every other worker's stamp of parity `t & 1` says `t + 1`
//!    and copies their cores' spikes of `t` into its local copy (the input
//!    of step `t + 1`; its own cores' it moves in directly), then runs the
//!    learning pass of its cores.
//!
//! The stamps are the only synchronisation: a worker writes parity
//! `(t + 1) & 1` only after it has seen every other worker's stamp of `t`,
//! which each sets after it has read parity `(t − 1) & 1`, the same slots.
//! A mailbox is packed (stamp, counts, ids), so a step costs a worker about
//! one or two cache-line transfers per other worker (a counting barrier
//! plus per-core slots cost several more). Cores never share mutable state,
//! so the result does not depend on the number of workers or on which
//! worker steps which core.
//!
//! When no spike can arrive sooner than `w > 1` steps after it was emitted
//! (every delay at least `w` steps, every arriving spike merged, nothing
//! learning: [`exchange_window`]), the workers exchange once per window of
//! `w` steps instead ([`worker_windowed`], as NEST exchanges once per
//! minimum delay): a window's spikes are needed in the next window at the
//! earliest, so each worker steps its cores through the whole window,
//! exchanges, and then delivers the window's spikes step after step.

use crate::core::{CoreState, Recorder};
use crate::fanout::Fanout;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Spins before a waiting worker starts yielding its time slice (on a busy
/// machine the other worker may be descheduled).
const SPIN_LIMIT: u32 = 1 << 11;

/// Sixteen words on one cache line of their own.
#[repr(align(64))]
struct Line([AtomicU32; 16]);

/// One worker's spikes of one exchange (a step, or a window of steps, see
/// [`Segment::window`]) of one parity, packed: word 0 the stamp, then per
/// step one count per core of the worker (its cores in ascending order)
/// followed by the ids of those cores one after the other. Lines of its
/// own.
struct Mailbox(Box<[Line]>);

impl Mailbox {
    fn new(words: usize) -> Mailbox {
        Mailbox((0..words.div_ceil(16)).map(|_| Line(std::array::from_fn(|_| AtomicU32::new(0)))).collect())
    }

    #[inline]
    fn word(&self, i: usize) -> &AtomicU32 {
        &self.0[i / 16].0[i % 16]
    }
}

/// Every worker's spikes of the last two steps, written by the worker and
/// read by the others once its stamp says the step is complete (the counts
/// and ids are relaxed stores, ordered by the stamp's release store).
///
/// A worker writes its step's spikes in one go after stepping its cores,
/// packed into a mailbox of its own: at a few spikes per core and step, a
/// reader pulls one or two cache lines per worker and step, and a writer
/// takes back as few (per core and step, each a separate transfer, they
/// made up a tenth of a 2-worker step at dt = 1 ms).
pub struct SpikeBoard {
    /// Per worker: its cores (ascending global index) and their capacities.
    cores: Vec<Vec<(usize, usize)>>,
    /// Per worker, per parity.
    boxes: Vec<[Mailbox; 2]>,
    /// The most steps one exchange carries.
    steps: usize,
    /// Set when a worker panics, so that nobody waits for it forever.
    poisoned: AtomicBool,
}

impl SpikeBoard {
    /// `capacity[c]`: the most spikes core `c` can emit in a step (its
    /// neurons); `assignment[c]`: its worker; `steps`: the most steps an
    /// exchange carries.
    pub fn new(capacity: &[usize], assignment: &[usize], steps: usize) -> SpikeBoard {
        let steps = steps.max(1);
        let workers = assignment.iter().max().map_or(0, |&w| w + 1);
        let mut cores = vec![Vec::new(); workers];
        for (c, &w) in assignment.iter().enumerate() {
            cores[w].push((c, capacity[c]));
        }
        let boxes = cores
            .iter()
            .map(|cs| {
                let words = 1 + steps * (cs.len() + cs.iter().map(|&(_, n)| n).sum::<usize>());
                [Mailbox::new(words), Mailbox::new(words)]
            })
            .collect();
        SpikeBoard { cores, boxes, steps, poisoned: AtomicBool::new(false) }
    }

    fn workers(&self) -> usize {
        self.cores.len()
    }

    /// Publishes `worker`'s spikes of exchange `t` (a step, or a window of
    /// steps: `spikes[j * n + k]` holds those of its `k`-th core in the
    /// exchange's `j`-th step, `n` its number of cores) and marks them
    /// complete.
    fn publish(&self, worker: usize, t: u32, spikes: &[Vec<u32>]) {
        let b = &self.boxes[worker][(t & 1) as usize];
        let cores = &self.cores[worker];
        let n = cores.len().max(1);
        assert!(spikes.len() <= self.steps * n, "{} steps in one exchange, room for {}", spikes.len() / n, self.steps);
        let mut at = 1;
        for step in spikes.chunks(n) {
            let counts = at;
            at += cores.len();
            for (k, (&(core, cap), s)) in cores.iter().zip(step).enumerate() {
                assert!(s.len() <= cap, "core {core} emitted {} spikes, more than its {cap} neurons", s.len());
                b.word(counts + k).store(s.len() as u32, Ordering::Relaxed);
                for &x in s {
                    b.word(at).store(x, Ordering::Relaxed);
                    at += 1;
                }
            }
        }
        b.word(0).store(t.wrapping_add(1), Ordering::Release);
    }

    /// Waits until `worker` has published step `t`. Panics if a worker
    /// panicked (so nobody waits forever).
    fn wait_for(&self, worker: usize, t: u32) {
        let stamp = self.boxes[worker][(t & 1) as usize].word(0);
        let mut spins = 0u32;
        while stamp.load(Ordering::Acquire) != t.wrapping_add(1) {
            if self.poisoned.load(Ordering::Relaxed) {
                panic!("another emulator worker panicked");
            }
            if spins < SPIN_LIMIT {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Copies `worker`'s spikes of exchange `t` into `into` (`into[j]`:
    /// the spikes of the exchange's `j`-th step by global core index; as
    /// many steps as were published). Only after [`SpikeBoard::wait_for`]
    /// of the same exchange.
    fn read(&self, worker: usize, t: u32, into: &mut [Vec<Vec<u32>>]) {
        let b = &self.boxes[worker][(t & 1) as usize];
        let cores = &self.cores[worker];
        let mut at = 1;
        for step in into.iter_mut() {
            let counts = at;
            at += cores.len();
            for (k, &(core, _)) in cores.iter().enumerate() {
                let n = b.word(counts + k).load(Ordering::Relaxed) as usize;
                let v = &mut step[core];
                v.clear();
                v.extend((at..at + n).map(|i| b.word(i).load(Ordering::Relaxed)));
                at += n;
            }
        }
    }
}

/// Room (spikes) reserved in each of a worker's spike lists.
const SPIKE_LIST_ROOM: usize = 32;

/// A spike list of a worker holding `spikes`, made on the worker's own
/// thread with room for at least [`SPIKE_LIST_ROOM`] spikes: a worker's
/// lists, written every step, then lie among its own allocations, not
/// between another worker's (see [`crate::lined`]), and rarely grow.
fn spike_list(spikes: &[u32]) -> Vec<u32> {
    let mut v = Vec::with_capacity(spikes.len().max(SPIKE_LIST_ROOM));
    v.extend_from_slice(spikes);
    v
}

/// [`spike_list`]s holding `from`'s.
fn spike_lists(from: &[Vec<u32>]) -> Vec<Vec<u32>> {
    from.iter().map(|s| spike_list(s)).collect()
}

/// `n` empty [`spike_list`]s.
fn empty_spike_lists(n: usize) -> Vec<Vec<u32>> {
    (0..n).map(|_| spike_list(&[])).collect()
}

/// Marks the board poisoned when the owning worker unwinds.
struct PoisonOnPanic<'a>(&'a SpikeBoard);

impl Drop for PoisonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Relaxed);
        }
    }
}

/// Splits cores over `workers` workers, balancing `costs` (greedy: the
/// costliest core first, each to the least loaded worker; ties to the lower
/// index). Returns the worker of each core.
pub fn assign(costs: &[u64], workers: usize) -> Vec<usize> {
    let workers = workers.max(1);
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(costs[c]), c));
    let mut load = vec![0u64; workers];
    let mut out = vec![0; costs.len()];
    for c in order {
        let w = (0..workers).min_by_key(|&w| (load[w], w)).unwrap_or(0);
        load[w] += costs[c].max(1);
        out[c] = w;
    }
    out
}

/// Step `t` of one core: receive the spikes of `t − 1` (unless `merged`:
/// the worker's [`Fanout`] has delivered them), update, record.
#[inline]
fn step_core(core: &mut CoreState, rec: &mut Recorder, inputs: &[usize], prev: &[Vec<u32>], t: u32, out: &mut Vec<u32>, merged: Option<(&mut [u16], RingBufferLayout)>) {
    out.clear();
    if merged.is_none() {
        for &s in inputs {
            if !prev[s].is_empty() {
                core.receive(s as u32, &prev[s], t);
            }
        }
    }
    core.step(t, out, merged);
    rec.sample(core, t, out);
}

/// Before a step: hints the cache to load the plastic rows the cores will
/// walk for the spikes of the step before (no effect on results).
#[inline]
fn prefetch_rows<'c>(cores: impl Iterator<Item = &'c CoreState>, inputs: impl Fn(usize) -> &'c [usize], prev: &[Vec<u32>]) {
    for (k, core) in cores.enumerate() {
        for &s in inputs(k) {
            if !prev[s].is_empty() {
                core.prefetch_rows(s as u32, &prev[s]);
            }
        }
    }
}

/// What a segment of steps needs besides the cores.
pub struct Segment<'a> {
    /// Per core, the source cores it receives from (ascending).
    pub inputs: &'a [Vec<usize>],
    /// Whether to run the learning pass after each step.
    pub learning: bool,
    /// Steps between exchanges of spikes between workers (at least 1). More
    /// than one only if no spike can arrive sooner than that many steps
    /// after it was emitted and every spike arrives through the workers'
    /// [`Fanout`]s (see [`exchange_window`]): the spikes of a window are
    /// then needed in the next window at the earliest.
    pub window: u32,
    pub first: u32,
    pub last: u32,
}

/// Runs steps `first..=last` on the calling thread, every core in index
/// order. `spikes` holds every core's spikes of `first − 1` and is left with
/// those of `last`.
/// `fanout` merges the static rows of `cores` (slot = core index).
pub fn run_serial(cores: &mut [CoreState], recorders: &mut [Recorder], fanout: &mut Fanout, seg: &Segment<'_>, spikes: &mut Vec<Vec<u32>>, progress: &mut dyn FnMut(u32)) {
    let mut next: Vec<Vec<u32>> = vec![Vec::new(); cores.len()];
    let mut cores: Vec<&mut CoreState> = cores.iter_mut().collect();
    fanout.load(&cores, seg.first);
    let plastic = cores.iter().any(|c| c.has_plastic_rows());
    for t in seg.first..=seg.last {
        if plastic {
            prefetch_rows(cores.iter().map(|c| &**c), |c| &seg.inputs[c], spikes);
        }
        fanout.deliver(spikes, t);
        for (c, (core, rec)) in cores.iter_mut().zip(recorders.iter_mut()).enumerate() {
            step_core(core, rec, &seg.inputs[c], spikes, t, &mut next[c], fanout.ring(c, t));
        }
        if seg.learning {
            for (c, core) in cores.iter_mut().enumerate() {
                core.learn(t, &next[c], &next);
            }
        }
        std::mem::swap(spikes, &mut next);
        progress(t);
    }
    fanout.store(&mut cores, seg.last);
}

/// The cores of each worker (ascending), from the worker of each core.
pub fn members(assignment: &[usize], workers: usize) -> Vec<Vec<usize>> {
    let mut m = vec![Vec::new(); workers];
    for (c, &w) in assignment.iter().enumerate() {
        m[w].push(c);
    }
    m
}

/// A worker's cores, in slot order (ascending global index).
struct Part<'a> {
    /// The worker's index.
    me: usize,
    ids: Vec<usize>,
    cores: Vec<&'a mut CoreState>,
    recorders: Vec<&'a mut Recorder>,
}

/// Runs steps `first..=last` on `workers` persistent threads (the calling
/// thread is worker 0 and calls `progress`), cores split by `assignment`;
/// `fanouts[w]` merges the static rows of worker `w`'s cores (slots as in
/// [`members`]). `Err` when a worker thread cannot be started.
#[allow(clippy::too_many_arguments)]
pub fn run_parallel(
    cores: &mut [CoreState],
    recorders: &mut [Recorder],
    assignment: &[usize],
    fanouts: &mut [Fanout],
    capacity: &[usize],
    seg: &Segment<'_>,
    spikes: &mut Vec<Vec<u32>>,
    progress: &mut dyn FnMut(u32),
) -> Result<(), std::io::Error> {
    let workers = fanouts.len();
    let window = seg.window.max(1);
    let board = SpikeBoard::new(capacity, assignment, window as usize);
    let mut parts: Vec<Part<'_>> = (0..workers).map(|me| Part { me, ids: Vec::new(), cores: Vec::new(), recorders: Vec::new() }).collect();
    for (c, (core, rec)) in cores.iter_mut().zip(recorders.iter_mut()).enumerate() {
        let p = &mut parts[assignment[c]];
        p.ids.push(c);
        p.cores.push(core);
        p.recorders.push(rec);
    }
    let mut parts = parts.into_iter().zip(fanouts.iter_mut());
    let mine = parts.next();
    let start: &Vec<Vec<u32>> = spikes;
    let board = &board;
    let result = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (k, (part, fanout)) in parts.enumerate() {
            let spawned = std::thread::Builder::new()
                .name(format!("spikeforge-emu-{}", k + 1))
                .spawn_scoped(s, move || {
                    let local = spike_lists(start);
                    if window > 1 {
                        worker_windowed(part, fanout, board, seg, local, &mut |_| {});
                    } else {
                        worker(part, fanout, board, seg, local, &mut |_| {});
                    }
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // The workers already started stop at their next wait.
                    board.poisoned.store(true, Ordering::Relaxed);
                    for h in handles {
                        let _ = h.join();
                    }
                    return Err(e);
                }
            }
        }
        let local = match mine {
            Some((part, fanout)) if window > 1 => worker_windowed(part, fanout, board, seg, spike_lists(start), progress),
            Some((part, fanout)) => worker(part, fanout, board, seg, spike_lists(start), progress),
            None => start.clone(),
        };
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
        Ok(local)
    });
    *spikes = result?;
    Ok(())
}

/// One worker's steps.
fn worker(
    mut part: Part<'_>,
    fanout: &mut Fanout,
    board: &SpikeBoard,
    seg: &Segment<'_>,
    mut local: Vec<Vec<u32>>,
    progress: &mut dyn FnMut(u32),
) -> Vec<Vec<u32>> {
    let _guard = PoisonOnPanic(board);
    // This step's spikes of the worker's own cores (slot order).
    let mut own = empty_spike_lists(part.cores.len());
    fanout.load(&part.cores, seg.first);
    let plastic = part.cores.iter().any(|c| c.has_plastic_rows());
    // By global core index: whether the core is this worker's.
    let mut mine = vec![false; local.len()];
    for &c in &part.ids {
        mine[c] = true;
    }
    let is_mine = |s: usize| mine.get(s).copied().unwrap_or(false);
    for t in seg.first..=seg.last {
        if plastic {
            prefetch_rows(part.cores.iter().map(|c| &**c), |k| &seg.inputs[part.ids[k]], &local);
        }
        if t == seg.first {
            fanout.deliver(&local, t);
        } else {
            // Its own cores' spikes were delivered while it waited (below).
            fanout.deliver_rest(&local, t, is_mine);
        }
        for (k, (core, rec)) in part.cores.iter_mut().zip(part.recorders.iter_mut()).enumerate() {
            let c = part.ids[k];
            step_core(core, rec, &seg.inputs[c], &local, t, &mut own[k], fanout.ring(k, t));
        }
        board.publish(part.me, t, &own);
        for (k, &c) in part.ids.iter().enumerate() {
            std::mem::swap(&mut local[c], &mut own[k]);
        }
        // The next step's delivery of its own cores' spikes needs nobody
        // else's: it fills the time the other workers' spikes take to
        // arrive (and the wait for a slower worker). The rest, after the
        // wait, completes it (the same entries and counts as in one go,
        // see `Fanout::deliver_rest`).
        if t < seg.last {
            fanout.deliver_early(&local, t + 1, is_mine);
        }
        for w in (0..board.workers()).filter(|&w| w != part.me) {
            board.wait_for(w, t);
            board.read(w, t, std::slice::from_mut(&mut local));
        }
        if seg.learning {
            for (k, core) in part.cores.iter_mut().enumerate() {
                let c = part.ids[k];
                core.learn(t, &local[c], &local);
            }
        }
        progress(t);
    }
    fanout.store(&mut part.cores, seg.last);
    local
}

/// The most steps between two exchanges.
pub const MAX_WINDOW: u32 = 32;

/// The most words a mailbox may take for a window (1 MiB): a mailbox holds
/// room for every neuron of the worker spiking in every step of the window,
/// so a large network gets a shorter window.
const MAX_MAILBOX_WORDS: usize = 1 << 18;

/// The steps between exchanges for `fanouts` (one per worker, slots as in
/// [`members`]): the shortest delay of any merged synapse if every core
/// that receives spikes (`inputs`) is merged in its worker's fanout and no
/// core learns, else 1 (exchange every step); at most [`MAX_WINDOW`], and
/// at most as many steps as a mailbox of [`MAX_MAILBOX_WORDS`] holds
/// (`capacity[c]`: the most spikes core `c` emits in a step). A spike of
/// step `s` then arrives at `s + window` at the earliest: the spikes of one
/// window are needed in the next one at the earliest, and the workers
/// exchange them once per window.
pub fn exchange_window(fanouts: &[Fanout], members: &[Vec<usize>], inputs: &[Vec<usize>], capacity: &[usize], learning: bool) -> u32 {
    if learning || fanouts.len() < 2 {
        return 1;
    }
    let all_merged = members.iter().zip(fanouts).all(|(ids, f)| ids.iter().enumerate().all(|(k, &c)| inputs[c].is_empty() || f.merges(k)));
    if !all_merged {
        return 1;
    }
    let per_step = members.iter().map(|ids| ids.len() + ids.iter().map(|&c| capacity[c]).sum::<usize>()).max().unwrap_or(1).max(1);
    let room = (MAX_MAILBOX_WORDS / per_step).clamp(1, MAX_WINDOW as usize) as u32;
    fanouts.iter().filter_map(Fanout::min_delay).min().map_or(1, |d| d.clamp(1, room))
}

/// One worker's steps when spikes are exchanged once per window of
/// `seg.window` steps (see [`exchange_window`]): in each window it steps its
/// cores through every step of the window, publishes their spikes of all of
/// them at once, reads the others', and then delivers the window's spikes
/// step after step — the calls [`run_serial`] makes, in its order, so the
/// same adds reach every entry in the same order. A window's spikes land at
/// the next window's first step or later, which no core has read yet. The
/// spikes of the segment's last step are not delivered: they are returned
/// (every core's) for the next segment's first step, as on the other paths.
fn worker_windowed(
    mut part: Part<'_>,
    fanout: &mut Fanout,
    board: &SpikeBoard,
    seg: &Segment<'_>,
    local: Vec<Vec<u32>>,
    progress: &mut dyn FnMut(u32),
) -> Vec<Vec<u32>> {
    let _guard = PoisonOnPanic(board);
    let window = seg.window.max(1) as usize;
    let n_own = part.cores.len();
    fanout.load(&part.cores, seg.first);
    // Every core's spikes of `first - 1`.
    fanout.deliver(&local, seg.first);
    // Per step of the window, every core's spikes (by global index).
    let mut steps: Vec<Vec<Vec<u32>>> = (0..window).map(|_| empty_spike_lists(local.len())).collect();
    // This worker's cores' spikes of the window, step after step.
    let mut own = empty_spike_lists(window * n_own);
    let mut last_len = 0;
    let (mut first, mut exchange) = (seg.first, 0u32);
    while first <= seg.last {
        let len = ((seg.last - first) as usize + 1).min(window);
        for j in 0..len {
            let t = first + j as u32;
            for (k, (core, rec)) in part.cores.iter_mut().zip(part.recorders.iter_mut()).enumerate() {
                let c = part.ids[k];
                debug_assert!(seg.inputs[c].is_empty() || fanout.merges(k), "core {c} receives outside the fanout");
                // Nothing arrives but through the fanout: no previous spikes to walk.
                step_core(core, rec, &seg.inputs[c], &[], t, &mut own[j * n_own + k], fanout.ring(k, t));
            }
            progress(t);
        }
        board.publish(part.me, exchange, &own[..len * n_own]);
        for (j, step) in steps.iter_mut().enumerate().take(len) {
            for (k, &c) in part.ids.iter().enumerate() {
                std::mem::swap(&mut step[c], &mut own[j * n_own + k]);
            }
        }
        for w in (0..board.workers()).filter(|&w| w != part.me) {
            board.wait_for(w, exchange);
            board.read(w, exchange, &mut steps[..len]);
        }
        for (j, spikes) in steps.iter().enumerate().take(len) {
            let t = first + j as u32;
            if t < seg.last {
                fanout.deliver(spikes, t + 1);
            }
        }
        last_len = len;
        first += len as u32;
        exchange += 1;
    }
    fanout.store(&mut part.cores, seg.last);
    if last_len == 0 {
        return local;
    }
    steps.swap_remove(last_len - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window's spikes go through the mailboxes unchanged: three workers,
    /// cores of different sizes (one assigned out of order, one that never
    /// spikes), windows of 1 to 5 steps in both parities, random spike sets
    /// up to a full core; every reader gets every other worker's spikes of
    /// every step of the window, in emission order, by global core index.
    #[test]
    fn mailboxes_carry_windows() {
        let mut rng = crate::test_rng::Rng(0x2545_F491_4F6C_DD1D);
        let capacity = [4usize, 1, 7, 3, 5, 2];
        let assignment = [0usize, 2, 1, 0, 2, 1];
        let board = SpikeBoard::new(&capacity, &assignment, 5);
        let members = members(&assignment, 3);
        for (exchange, len) in [1usize, 5, 3, 2, 5, 4].into_iter().enumerate() {
            // sent[j][c]: core c's spikes in the window's step j.
            let sent: Vec<Vec<Vec<u32>>> = (0..len)
                .map(|_| (0..capacity.len()).map(|c| if c == 1 { Vec::new() } else { (0..capacity[c] as u32).filter(|_| rng.below(3) == 0).collect() }).collect())
                .collect();
            for (w, ids) in members.iter().enumerate() {
                let own: Vec<Vec<u32>> = (0..len).flat_map(|j| ids.iter().map(|&c| sent[j][c].clone()).collect::<Vec<_>>()).collect();
                board.publish(w, exchange as u32, &own);
            }
            for w in 0..members.len() {
                for other in (0..3).filter(|&o| o != w) {
                    board.wait_for(other, exchange as u32);
                    let mut got = vec![vec![vec![u32::MAX]; capacity.len()]; len];
                    board.read(other, exchange as u32, &mut got);
                    for (j, step) in got.iter().enumerate() {
                        for (c, spikes) in step.iter().enumerate() {
                            if members[other].contains(&c) {
                                assert_eq!(spikes, &sent[j][c], "exchange {exchange}, step {j}, core {c}, read by {w}");
                            } else {
                                assert_eq!(spikes, &vec![u32::MAX], "core {c} is not worker {other}'s");
                            }
                        }
                    }
                }
            }
        }
    }
}
