//! A generational arena: slots are reused, handles carry the generation they were issued with, so
//! a stale handle (a use after the final release) is detected instead of silently served.
//!
//! Lookups are lock-free (chunks are published once through `OnceLock`); allocation and free take
//! a bookkeeping lock that is never a scheduling point. Generations are odd while a slot is live and
//! even while it is free.
//!
//! An arena can be emptied for reuse ([`Arena::recycle`]) and have all its chunks published at
//! once ([`Arena::publish_all`]): it then hands out the same handles and values as a new arena,
//! and no allocation builds a chunk any more.

use std::mem::ManuallyDrop;

use crate::sync::{BookLock, BookOnce, BookU32, MemOrder, Platform};

const CHUNK_LEN: usize = 16;

/// A handle: slot index plus the generation it was issued with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Handle {
    pub idx: u32,
    pub gen: u32,
}

pub struct Slot<T> {
    gen: BookU32,
    pub value: T,
}

struct AllocState {
    next: u32,
    free: Vec<u32>,
    live: u32,
}

/// A chunk of slots, published once. A fixed-size array, so indexing it within a chunk needs no
/// bounds check (a comparison a fuzz build would trace on every lookup).
type Chunk<T> = BookOnce<Box<[Slot<T>; CHUNK_LEN]>>;

/// An arena with room for `CHUNKS` chunks of slots: a power of two, so a lookup's index into them
/// is a mask, with no bounds check (a comparison a fuzz build would trace on every lookup).
pub struct Arena<T, const CHUNKS: usize = 256> {
    platform: Platform,
    /// Room for `CHUNKS` chunks, of which those up to the limit are ever published. The
    /// published chunks are always a prefix (an allocation publishes the chunk of the next
    /// index, [`Arena::publish_all`] all of them), so [`Drop`] drops those and leaves the
    /// never-published rest, which own nothing, without visiting them.
    chunks: Box<[ManuallyDrop<Chunk<T>>; CHUNKS]>,
    /// Slots up to the limit: whole chunks, at most `CHUNKS` of them.
    slots_max: u32,
    alloc: BookLock<AllocState>,
    make: fn(Platform) -> T,
}

/// A value whose handle resolved, and the slot's generation to check it against again.
pub struct Live<'a, T> {
    pub value: &'a T,
    gen: &'a BookU32,
    issued: u32,
}

impl<T> Live<'_, T> {
    /// Whether the handle still names the slot's value (it was not freed since).
    pub fn still_live(&self) -> bool {
        self.gen.load(MemOrder::Acquire) == self.issued
    }
}

/// Why a handle did not resolve.
#[derive(Debug, PartialEq, Eq)]
pub enum Stale {
    /// The slot was freed (and maybe reused) since the handle was issued.
    Freed { now: u32 },
    /// The index was never allocated.
    Unknown,
}

impl<T, const CHUNKS: usize> Arena<T, CHUNKS> {
    /// An arena of at most `slots_max` slots (rounded up to whole chunks; at most `CHUNKS` of
    /// them); `make` builds an empty slot value.
    pub fn new(platform: Platform, slots_max: u32, make: fn(Platform) -> T) -> Arena<T, CHUNKS> {
        const { assert!(CHUNKS.is_power_of_two()) };
        let chunks_max = (slots_max as usize).div_ceil(CHUNK_LEN);
        assert!(
            chunks_max <= CHUNKS,
            "an arena of {CHUNKS} chunks holds at most {} slots",
            CHUNKS * CHUNK_LEN
        );
        let chunks: Box<[_]> = (0..CHUNKS)
            .map(|_| ManuallyDrop::new(BookOnce::new()))
            .collect();
        let Ok(chunks) = chunks.try_into() else {
            unreachable!("CHUNKS chunks")
        };
        let alloc = BookLock::new(AllocState {
            next: 0,
            free: Vec::new(),
            live: 0,
        });
        Arena {
            platform,
            chunks,
            slots_max: (chunks_max * CHUNK_LEN) as u32,
            alloc,
            make,
        }
    }

    /// Empties the arena for reuse: every slot ever allocated gets a value as `make` builds it
    /// (the old one dropped) at generation zero, and allocation starts again from index zero.
    /// Its chunks stay published. A caller that keeps no handle across the recycling (as a
    /// kernel's reboot) then sees the handles and values of a new arena; an index not yet
    /// allocated again resolves as freed at generation zero, not as unknown.
    #[inline]
    pub fn recycle(&mut self) {
        let next = self.alloc.get_mut().next as usize;
        for (c, chunk) in self.chunks[..next.div_ceil(CHUNK_LEN)]
            .iter_mut()
            .enumerate()
        {
            let Some(slots) = chunk.get_mut() else {
                continue;
            };
            // The slots above `next` were never handed out: as `make` built them.
            for slot in slots.iter_mut().take(next - c * CHUNK_LEN) {
                *slot.gen.get_mut() = 0;
                slot.value = (self.make)(self.platform);
            }
        }
        // A new free list, not the old one emptied: its growth is the model's code, and must not
        // depend on how far the arena's earlier uses went.
        *self.alloc.get_mut() = AllocState {
            next: 0,
            free: Vec::new(),
            live: 0,
        };
    }

    /// Builds every chunk not yet published, so that no later allocation builds one: then what
    /// an allocation runs does not depend on how far earlier uses of the arena went.
    #[inline]
    pub fn publish_all(&mut self) {
        // The published chunks are a prefix: once the last is, all are.
        let Some(last) = self.slots_max.checked_sub(1) else {
            return;
        };
        if self.slot(last).is_none() {
            for idx in (0..self.slots_max).step_by(CHUNK_LEN) {
                self.slot_or_init(idx);
            }
        }
    }

    pub fn slots_max(&self) -> u32 {
        self.slots_max
    }

    /// Takes a free slot (lowest reuse first in LIFO order, deterministic) or `None` when full.
    pub fn alloc(&self) -> Option<(Handle, &T)> {
        let idx = self.alloc.with(|a| {
            let idx = match a.free.pop() {
                Some(idx) => idx,
                None if a.next < self.slots_max() => {
                    a.next += 1;
                    a.next - 1
                }
                None => return None,
            };
            a.live += 1;
            Some(idx)
        })?;
        let slot = self.slot_or_init(idx);
        let gen = slot.gen.load(MemOrder::Relaxed) + 1;
        assert!(gen % 2 == 1, "arena slot {idx} allocated while live");
        slot.gen.store(gen, MemOrder::Release);
        Some((Handle { idx, gen }, &slot.value))
    }

    /// Frees the slot `h` names. The caller has already reset the value for reuse.
    pub fn free(&self, h: Handle) {
        let slot = self.slot(h.idx).expect("freeing an unknown slot");
        let gen = slot.gen.load(MemOrder::Relaxed);
        assert_eq!(gen, h.gen, "arena slot {} freed twice", h.idx);
        slot.gen.store(gen + 1, MemOrder::Release);
        self.alloc.with(|a| {
            a.free.push(h.idx);
            a.live -= 1;
        });
    }

    pub fn get(&self, h: Handle) -> Result<&T, Stale> {
        self.get_live(h).map(|live| live.value)
    }

    /// `h`'s value, with a way to ask again later whether `h` is still live (after taking its
    /// lock, say) without a second lookup.
    pub fn get_live(&self, h: Handle) -> Result<Live<'_, T>, Stale> {
        let slot = self.slot(h.idx).ok_or(Stale::Unknown)?;
        let now = slot.gen.load(MemOrder::Acquire);
        if now == h.gen {
            Ok(Live {
                value: &slot.value,
                gen: &slot.gen,
                issued: h.gen,
            })
        } else {
            Err(Stale::Freed { now })
        }
    }

    /// Whether `h` still names a live slot.
    pub fn is_live(&self, h: Handle) -> bool {
        self.get(h).is_ok()
    }

    /// One past the highest slot index ever handed out.
    pub fn high_water(&self) -> u32 {
        self.alloc.with(|a| a.next)
    }

    pub fn live_count(&self) -> u32 {
        self.alloc.with(|a| a.live)
    }

    /// Every live handle, in index order.
    pub fn live(&self) -> impl Iterator<Item = Handle> + '_ {
        let next = self.alloc.with(|a| a.next);
        (0..next).filter_map(|idx| {
            let slot = self.slot(idx)?;
            let gen = slot.gen.load(MemOrder::Acquire);
            (gen % 2 == 1).then_some(Handle { idx, gen })
        })
    }

    fn slot(&self, idx: u32) -> Option<&Slot<T>> {
        // Masked: no index beyond `CHUNKS` chunks is handed out (`alloc` stops at the limit),
        // and one above the limit finds its chunk unpublished.
        let chunk = self.chunks[(idx as usize / CHUNK_LEN) % CHUNKS].get()?;
        Some(&chunk[idx as usize % CHUNK_LEN])
    }

    fn slot_or_init(&self, idx: u32) -> &Slot<T> {
        let chunk = self.chunks[idx as usize / CHUNK_LEN].get_or_init(|| {
            // Built in place on the heap (an array built on the stack would be copied over).
            let slots: Box<[Slot<T>]> = (0..CHUNK_LEN)
                .map(|_| Slot {
                    gen: BookU32::new(0),
                    value: (self.make)(self.platform),
                })
                .collect();
            match slots.try_into() {
                Ok(chunk) => chunk,
                Err(_) => unreachable!("a chunk holds CHUNK_LEN slots"),
            }
        });
        &chunk[idx as usize % CHUNK_LEN]
    }
}

impl<T, const CHUNKS: usize> Drop for Arena<T, CHUNKS> {
    fn drop(&mut self) {
        for chunk in self.chunks.iter_mut() {
            let taken = std::mem::replace(chunk, ManuallyDrop::new(BookOnce::new()));
            if ManuallyDrop::into_inner(taken).into_inner().is_none() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handle_is_reported_after_reuse() {
        let a: Arena<u8> = Arena::new(Platform::Native, 4, |_| 0);
        let (h1, _) = a.alloc().unwrap();
        a.free(h1);
        let (h2, _) = a.alloc().unwrap();
        assert_eq!(h1.idx, h2.idx);
        assert_ne!(h1.gen, h2.gen);
        assert!(matches!(a.get(h1), Err(Stale::Freed { .. })));
        assert!(a.get(h2).is_ok());
    }

    #[test]
    fn a_live_lookup_sees_a_later_free() {
        let a: Arena<u8> = Arena::new(Platform::Native, 4, |_| 7);
        let (h, _) = a.alloc().unwrap();
        let live = a.get_live(h).unwrap();
        assert_eq!(*live.value, 7);
        assert!(live.still_live());
        a.free(h);
        assert!(!live.still_live());
        a.alloc().unwrap();
        assert!(
            !live.still_live(),
            "the slot's reuse is not the handle's value"
        );
    }

    #[test]
    fn dropping_an_arena_drops_every_slot_value_it_made() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        let a: Arena<Counted> = Arena::new(Platform::Native, 4 * CHUNK_LEN as u32, |_| Counted);
        for _ in 0..CHUNK_LEN + 1 {
            a.alloc().unwrap();
        }
        assert_eq!(DROPPED.load(Ordering::Relaxed), 0);
        drop(a);
        // Two chunks were made (the second for one slot); the other two never were.
        assert_eq!(DROPPED.load(Ordering::Relaxed), 2 * CHUNK_LEN);
    }

    /// After recycling, the same calls give the same handles and values as on a new arena,
    /// without building a chunk; after `publish_all` no allocation builds one.
    #[test]
    fn a_recycled_arena_is_a_new_one() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let make = |_| {
            MADE.fetch_add(1, Ordering::Relaxed);
            BookU32::new(5)
        };
        let made = || MADE.load(Ordering::Relaxed);
        let mut a: Arena<BookU32> = Arena::new(Platform::Native, 4 * CHUNK_LEN as u32, make);
        let run = |a: &Arena<BookU32>| {
            let mut seen = Vec::new();
            for i in 0..CHUNK_LEN + 3 {
                let (h, v) = a.alloc().unwrap();
                seen.push((h, v.swap(i as u32, MemOrder::Relaxed)));
            }
            for &(h, _) in seen.clone().iter().step_by(3) {
                a.free(h);
            }
            for i in 0..2 {
                let (h, v) = a.alloc().unwrap();
                seen.push((h, v.swap(i, MemOrder::Relaxed)));
            }
            (
                seen,
                a.high_water(),
                a.live_count(),
                a.live().collect::<Vec<_>>(),
            )
        };
        let first = run(&a);
        assert_eq!(made(), 2 * CHUNK_LEN);
        let used = first.1 as usize;
        assert_eq!(used, CHUNK_LEN + 3);
        a.recycle();
        assert_eq!((a.high_water(), a.live_count()), (0, 0));
        let old = first.0[1].0;
        assert!(matches!(a.get(old), Err(Stale::Freed { now: 0 })));
        // Recycling rebuilt the values of the slots handed out; running again builds none.
        assert_eq!(made(), 2 * CHUNK_LEN + used);
        assert_eq!(run(&a), first);
        assert_eq!(made(), 2 * CHUNK_LEN + used);
        a.recycle();
        a.publish_all();
        a.publish_all();
        assert_eq!(
            made(),
            4 * CHUNK_LEN + 2 * used,
            "the last two chunks built, once"
        );
        assert_eq!(run(&a), first);
        assert_eq!(made(), 4 * CHUNK_LEN + 2 * used);
        let fresh: Arena<BookU32> = Arena::new(Platform::Native, 4 * CHUNK_LEN as u32, make);
        assert_eq!(run(&fresh), first);
    }

    #[test]
    fn full_arena_refuses_allocation() {
        let a: Arena<u8> = Arena::new(Platform::Native, 2, |_| 0);
        assert_eq!(a.slots_max(), CHUNK_LEN as u32);
        for _ in 0..CHUNK_LEN {
            assert!(a.alloc().is_some());
        }
        assert!(a.alloc().is_none());
        assert_eq!(a.live_count(), CHUNK_LEN as u32);
    }
}
