//! The global allocator of every plugin built with the SDK (installed on wasm32 only; native
//! builds, such as unit tests, keep the system allocator): small blocks come from one free list
//! per size class, larger ones from the default allocator (wasi-libc's dlmalloc).
//!
//! Why: a call allocates and frees dozens of small buffers per event (the strings the host lowers
//! into the instance, the parsed payload, the attributes it returns), and dlmalloc spent over a
//! third of the guest's instructions on them in the plugin-stage benchmark
//! (`cargo bench -p trackway --bench plugin_stage`). A free list hands out and takes back a
//! block in a handful of instructions.
//!
//! The trade-off: a freed small block is reused only for a request of the same size class; it is
//! never coalesced with its neighbours nor given back to dlmalloc. The small-block footprint of an
//! instance is thus the sum of each class's peak rather than the peak of their sum (bounded, as
//! any footprint, by the stage's `max_memory_bytes`). Nothing is reset between calls: instances
//! are reused, and every block is freed exactly when Rust drops it, as with any allocator.

#![expect(
    unsafe_code,
    reason = "an allocator hands out raw memory; the invariants are stated where they are relied on"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Requests up to this size (with an alignment up to [`GRANULE`]) are small. Event strings and
/// payloads, attribute lists and parsed values are; batch-sized buffers go to dlmalloc, which
/// coalesces.
const MAX_SMALL: usize = 1024;
/// Class sizes are the multiples of this, and every small block is aligned to it.
const GRANULE: usize = 16;
const CLASSES: usize = MAX_SMALL / GRANULE;
/// Small blocks are carved from chunks of this size taken from dlmalloc: big enough that a refill
/// is rare, small enough that a plugin which allocates little keeps a small memory.
const CHUNK: usize = 64 * 1024;

/// The size-class free lists and the chunk new blocks are carved from.
pub(crate) struct SizeClasses {
    /// Head of each class's free list; a free block holds the address of the next one.
    free: [*mut u8; CLASSES],
    /// The unused rest of the current chunk: `next..end`.
    next: *mut u8,
    end: *mut u8,
}

impl SizeClasses {
    pub(crate) const fn new() -> Self {
        Self {
            free: [ptr::null_mut(); CLASSES],
            next: ptr::null_mut(),
            end: ptr::null_mut(),
        }
    }

    /// The class of a small `layout`; `None` for a large one.
    fn class(layout: Layout) -> Option<usize> {
        (layout.size() <= MAX_SMALL && layout.align() <= GRANULE)
            .then(|| layout.size().saturating_sub(1) / GRANULE)
    }

    /// A block of class `class`, or null when dlmalloc has no chunk left to give.
    ///
    /// # Safety
    /// Every block on the free lists must be one this allocator handed out and was given back.
    unsafe fn take(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: `head` is a free block of this class (the caller's contract): at least
            // GRANULE bytes, aligned to GRANULE, holding the next free block's address.
            self.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = (class + 1) * GRANULE;
        if (self.end as usize) - (self.next as usize) < size {
            // The rest of the old chunk (less than one block of this class) is left unused.
            let chunk = Layout::from_size_align(CHUNK, GRANULE).expect("a valid layout");
            // SAFETY: `chunk` has a non-zero size.
            let base = unsafe { System.alloc(chunk) };
            if base.is_null() {
                return base;
            }
            self.next = base;
            self.end = base.wrapping_add(CHUNK);
        }
        let block = self.next;
        self.next = block.wrapping_add(size);
        block
    }

    /// Put `block` back on the free list of `class`.
    ///
    /// # Safety
    /// `block` must have been handed out by [`SizeClasses::take`] for the same class, and not be
    /// used after this.
    unsafe fn give(&mut self, block: *mut u8, class: usize) {
        // SAFETY: the block is at least GRANULE bytes, aligned to GRANULE, and no longer in use.
        unsafe { block.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = block;
    }
}

/// [`SizeClasses`] as a [`GlobalAlloc`].
pub(crate) struct Allocator(UnsafeCell<SizeClasses>);

impl Allocator {
    pub(crate) const fn new() -> Self {
        Self(UnsafeCell::new(SizeClasses::new()))
    }

    /// The free lists.
    ///
    /// # Safety
    /// No other reference to them may be alive: the methods below take one for the duration of
    /// one operation, never call back into this allocator meanwhile, and the allocator is shared
    /// only where there is a single thread (see the `Sync` impl).
    #[expect(clippy::mut_from_ref, reason = "exclusive per the safety contract")]
    unsafe fn classes(&self) -> &mut SizeClasses {
        // SAFETY: exclusive per this function's contract.
        unsafe { &mut *self.0.get() }
    }
}

// SAFETY: WebAssembly without the `atomics` feature runs a single thread, so the allocator is
// never used from two threads at once.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
unsafe impl Sync for Allocator {}

// SAFETY: small blocks are GRANULE-aligned and at least as large as their class; a block keeps
// its class for life (it is given back to the list it was taken for, since `dealloc` and
// `realloc` receive the layout it was allocated with); large requests go to `System` unchanged.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match SizeClasses::class(layout) {
            // SAFETY: only blocks handed out and given back are on the free lists.
            Some(class) => unsafe { self.classes().take(class) },
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match SizeClasses::class(layout) {
            Some(class) => {
                // SAFETY: as in `alloc`; the block is at least `layout.size()` bytes.
                unsafe {
                    let block = self.classes().take(class);
                    if !block.is_null() {
                        block.write_bytes(0, layout.size());
                    }
                    block
                }
            }
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        match SizeClasses::class(layout) {
            // SAFETY: `block` was allocated with `layout`, hence taken for this class.
            Some(class) => unsafe { self.classes().give(block, class) },
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.dealloc(block, layout) },
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees that `new_size`, rounded up to the alignment, fits.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (SizeClasses::class(layout), SizeClasses::class(new_layout)) {
            // Still fits its block (strings and vectors growing a little, or shrinking).
            (Some(old), Some(new)) if old == new => block,
            // SAFETY: forwarded with the caller's guarantees.
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: a fresh block for the new layout, the common prefix copied, the old
                // block given back; `block` is valid for `layout.size()` bytes.
                unsafe {
                    let moved = self.alloc(new_layout);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).expect("valid layout")
    }

    #[test]
    fn classes_round_up_to_the_granule() {
        assert_eq!(SizeClasses::class(layout(0, 1)), Some(0));
        assert_eq!(SizeClasses::class(layout(1, 1)), Some(0));
        assert_eq!(SizeClasses::class(layout(16, 8)), Some(0));
        assert_eq!(SizeClasses::class(layout(17, 1)), Some(1));
        assert_eq!(SizeClasses::class(layout(MAX_SMALL, 16)), Some(CLASSES - 1));
        assert_eq!(SizeClasses::class(layout(MAX_SMALL + 1, 1)), None);
        assert_eq!(SizeClasses::class(layout(8, 32)), None);
    }

    #[test]
    fn blocks_are_distinct_aligned_and_reused() {
        let allocator = Allocator::new();
        let sizes = [1, 7, 16, 17, 100, 255, 256, 1000, 1024, 1025, 5000, 70_000];
        let mut blocks = Vec::new();
        for round in 0..3u8 {
            for (i, &size) in sizes.iter().enumerate() {
                let layout = layout(size, if size % 2 == 0 { 8 } else { 1 });
                // SAFETY: non-zero sizes; each block is written within its size only.
                let block = unsafe { allocator.alloc(layout) };
                assert!(!block.is_null());
                if size <= MAX_SMALL {
                    assert_eq!(block as usize % GRANULE, 0, "{size}");
                }
                // SAFETY: the block is `size` bytes.
                unsafe { block.write_bytes(round.wrapping_mul(16).wrapping_add(i as u8), size) };
                blocks.push((block, layout, round.wrapping_mul(16).wrapping_add(i as u8)));
            }
        }
        // No block overlaps another: each still holds what was written into it.
        for &(block, layout, byte) in &blocks {
            // SAFETY: the block is live and `layout.size()` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(block, layout.size()) };
            assert!(bytes.iter().all(|&b| b == byte));
        }
        // A freed small block is the next one handed out for its class.
        let (block, layout, _) = blocks[4];
        // SAFETY: allocated above with `layout`, not used after.
        let again = unsafe {
            allocator.dealloc(block, layout);
            allocator.alloc(layout)
        };
        assert_eq!(again, block);
        for (block, layout, _) in blocks {
            // SAFETY: each block is freed once, with its layout.
            unsafe { allocator.dealloc(block, layout) };
        }
    }

    #[test]
    fn realloc_keeps_the_contents() {
        let allocator = Allocator::new();
        // SAFETY: each pointer is used within its current size and freed once, with its layout.
        unsafe {
            let mut block = allocator.alloc(layout(10, 1));
            block.copy_from_nonoverlapping(b"0123456789".as_ptr(), 10);
            let mut size = 10;
            for new_size in [12, 40, 1024, 1500, 9000, 600, 5] {
                let moved = allocator.realloc(block, layout(size, 1), new_size);
                assert!(!moved.is_null());
                let kept = std::slice::from_raw_parts(moved, size.min(new_size).min(10));
                assert_eq!(kept, &b"0123456789"[..kept.len()], "{size} -> {new_size}");
                if SizeClasses::class(layout(size, 1)) == SizeClasses::class(layout(new_size, 1))
                    && new_size <= MAX_SMALL
                {
                    assert_eq!(moved, block, "same class, same block");
                }
                (block, size) = (moved, new_size);
            }
            allocator.dealloc(block, layout(size, 1));

            let zeroed = allocator.alloc_zeroed(layout(64, 8));
            assert!(
                std::slice::from_raw_parts(zeroed, 64)
                    .iter()
                    .all(|&b| b == 0)
            );
            allocator.dealloc(zeroed, layout(64, 8));
        }
    }
}
