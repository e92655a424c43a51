//! Circular queue index arithmetic shared by the command and event queues
//! (IHI 0070 §3.5.1, "Queue pointers"): an index of LOG2SIZE bits plus a wrap bit.

use crate::mem::low_mask;

/// A queue's geometry: base address and effective log2 size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queue {
    /// Base address (aligned to the entry size by the register layout).
    pub base: u64,
    /// Effective log2 of the entry count (capped at the IDR1 maximum).
    pub log2: u8,
    /// Entry size in bytes.
    pub entry: u64,
}

impl Queue {
    /// The index+wrap part of a pointer register value.
    pub fn ptr(&self, v: u32) -> u32 {
        v & low_mask(self.log2 as u32 + 1) as u32
    }

    /// Index bits of a pointer.
    pub fn index(&self, v: u32) -> u32 {
        v & low_mask(self.log2 as u32) as u32
    }

    /// No entries between `cons` and `prod`.
    pub fn is_empty(&self, prod: u32, cons: u32) -> bool {
        self.ptr(prod) == self.ptr(cons)
    }

    /// Every entry between `cons` and `prod` is in use: same index, different wrap.
    pub fn is_full(&self, prod: u32, cons: u32) -> bool {
        self.index(prod) == self.index(cons) && self.ptr(prod) != self.ptr(cons)
    }

    /// `v` advanced by one entry, wrapping the wrap bit.
    pub fn inc(&self, v: u32) -> u32 {
        self.ptr(v.wrapping_add(1))
    }

    /// Address of the entry `v` points at. Never overflows: index < 2^19 and the base
    /// is below 2^52.
    pub fn addr(&self, v: u32) -> u64 {
        self.base + self.index(v) as u64 * self.entry
    }

    /// Number of entries.
    pub fn len(&self) -> u32 {
        1 << self.log2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_arithmetic() {
        let q = Queue {
            base: 0x1000,
            log2: 2,
            entry: 16,
        };
        assert!(q.is_empty(0, 0));
        assert!(q.is_full(0b100, 0));
        assert!(!q.is_full(0b011, 0));
        assert_eq!(q.inc(0b011), 0b100);
        assert_eq!(q.inc(0b111), 0);
        assert_eq!(q.addr(0b110), 0x1000 + 2 * 16);
        assert_eq!(q.len(), 4);
    }

    /// Hostile: pointer bits above the wrap bit are ignored; inconsistent wrap bits
    /// only ever mean "empty" or "full", never an out-of-queue index.
    #[test]
    fn hostile_pointers() {
        let q = Queue {
            base: 0,
            log2: 3,
            entry: 32,
        };
        assert!(q.is_empty(0xffff_ff00, 0));
        for prod in 0..64u32 {
            for cons in 0..64u32 {
                assert!(q.addr(prod) < 8 * 32);
                assert!(q.addr(cons) < 8 * 32);
            }
        }
        assert!(q.is_full(0x8, 0x0));
        assert!(q.is_full(0x0, 0x8));
    }
}
