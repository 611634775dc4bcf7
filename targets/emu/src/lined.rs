//! Arrays on cache lines of their own.
//!
//! Every step a worker writes its cores' neuron state (a few arrays of one
//! word per neuron). In a plain `Vec` such an array starts and ends
//! wherever the allocator put it, so its first and last cache lines can
//! hold the end or the start of another core's array — one stepped by the
//! other worker. Both then write the same line every step, and it moves
//! between the two CPUs' caches each time (false sharing): on CUBA at
//! dt = 0.1 ms it made the two-worker loop 15–20 % slower
//! (docs/performance.md, "False sharing between the workers"). [`Lined`]
//! allocates its elements in whole 128-byte blocks (two lines: the
//! adjacent-line prefetcher fetches pairs), so no other allocation shares
//! a line with them. The structs that hold a core's per-step counters are
//! aligned to 128 bytes for the same reason.

use bytemuck::{Pod, Zeroable};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// One 128-byte block: the unit of a [`Lined`] array's storage.
#[derive(Clone, Copy, Pod, Zeroable)]
#[repr(C, align(128))]
struct Block([u8; 128]);

/// A fixed-length array of `T` whose storage starts on a 128-byte boundary
/// and fills whole 128-byte blocks (the tail of the last one unused):
/// dereferences to `[T]`.
#[derive(Clone)]
pub struct Lined<T> {
    blocks: Vec<Block>,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Pod> Lined<T> {
    /// `len` zeroed elements.
    pub fn zeroed(len: usize) -> Lined<T> {
        const { assert!(128 % std::mem::size_of::<T>() == 0 && std::mem::align_of::<T>() <= 128, "T must tile a 128-byte block") };
        let bytes = len * std::mem::size_of::<T>();
        Lined { blocks: vec![Block::zeroed(); bytes.div_ceil(128)], len, _t: PhantomData }
    }
}

impl<T: Pod> Default for Lined<T> {
    fn default() -> Lined<T> {
        Lined::zeroed(0)
    }
}

impl<T: Pod> FromIterator<T> for Lined<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Lined<T> {
        let values: Vec<T> = iter.into_iter().collect();
        let mut out = Lined::zeroed(values.len());
        out.copy_from_slice(&values);
        out
    }
}

impl<T: Pod> Deref for Lined<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &bytemuck::cast_slice(&self.blocks)[..self.len]
    }
}

impl<T: Pod> DerefMut for Lined<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut bytemuck::cast_slice_mut(&mut self.blocks)[..self.len]
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Lined<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_blocks_on_block_boundaries() {
        for len in [0usize, 1, 31, 32, 33, 256, 1000] {
            let a: Lined<i32> = (0..len as i32).collect();
            assert_eq!(a.len(), len);
            assert!(a.iter().copied().eq(0..len as i32));
            assert_eq!(a.blocks.as_ptr() as usize % 128, 0, "len {len}");
            assert_eq!(a.blocks.len() * 128, (len * 4).div_ceil(128) * 128);
            let mut b: Lined<u8> = Lined::zeroed(len);
            b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8);
            assert!(b.iter().enumerate().all(|(i, &x)| x == i as u8));
            let c = b.clone();
            assert_eq!(&*c, &*b);
            assert_eq!(c.blocks.as_ptr() as usize % 128, 0);
        }
    }
}
