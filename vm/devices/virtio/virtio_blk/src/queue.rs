//! The split virtqueue (§2.7): taking chains from the available ring and returning
//! them on the used ring, all through the device's DMA target.

use crate::chain::read_chain;
use crate::chain::ChainError;
use crate::chain::Segment;
use crate::spec::AVAIL_F_NO_INTERRUPT;
use guestmem::GuestMemoryAccess;
use guestmem::GuestMemoryAccessExt;
use std::num::Wrapping;
use std::sync::atomic::fence;
use std::sync::atomic::Ordering;

/// Where the driver put a queue, as written through the common configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, inspect::Inspect)]
pub struct QueueParams {
    /// Number of entries.
    pub size: u16,
    /// Descriptor table bus address.
    #[inspect(hex)]
    pub desc: u64,
    /// Available ring ("driver area") bus address.
    #[inspect(hex)]
    pub avail: u64,
    /// Used ring ("device area") bus address.
    #[inspect(hex)]
    pub used: u64,
}

/// Why a queue's parameters cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// Size zero, above the maximum, or not a power of two.
    #[error("invalid queue size {0}")]
    Size(u16),
    /// A ring is misaligned (§2.7: 16, 2 and 4 bytes).
    #[error("misaligned ring address")]
    Alignment,
    /// A ring would wrap around the address space.
    #[error("ring wraps the address space")]
    Wraps,
}

impl QueueParams {
    /// Checks the parameters against the device's `max_size`.
    pub fn validate(&self, max_size: u16) -> Result<(), ParamsError> {
        if self.size == 0 || self.size > max_size || !self.size.is_power_of_two() {
            return Err(ParamsError::Size(self.size));
        }
        if self.desc % 16 != 0 || self.avail % 2 != 0 || self.used % 4 != 0 {
            return Err(ParamsError::Alignment);
        }
        let n = u64::from(self.size);
        let fits = |base: u64, len: u64| base.checked_add(len).is_some();
        if !fits(self.desc, 16 * n) || !fits(self.avail, 6 + 2 * n) || !fits(self.used, 6 + 8 * n) {
            return Err(ParamsError::Wraps);
        }
        Ok(())
    }
}

/// An unrecoverable queue error: the device must ask for a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The available index moved by more than the queue size.
    #[error("available index jumped from {from} to {to}")]
    AvailJump {
        /// Where the device was.
        from: u16,
        /// What the driver published.
        to: u16,
    },
    /// A ring could not be read or written (beyond RAM, or an IOMMU fault).
    #[error("ring access at {0:#x} failed")]
    Ring(u64),
    /// A malformed descriptor chain.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// A split virtqueue's device-side state.
#[derive(Debug, inspect::Inspect)]
pub struct SplitQueue {
    params: QueueParams,
    indirect: bool,
    #[inspect(with = "wrapping")]
    next_avail: Wrapping<u16>,
    #[inspect(with = "wrapping")]
    next_used: Wrapping<u16>,
    #[inspect(with = "wrapping")]
    published_used: Wrapping<u16>,
}

fn wrapping(v: &Wrapping<u16>) -> u16 {
    v.0
}

impl SplitQueue {
    /// A queue with validated `params`; `indirect` when INDIRECT_DESC was negotiated.
    pub fn new(params: QueueParams, indirect: bool) -> Self {
        Self {
            params,
            indirect,
            next_avail: Wrapping(0),
            next_used: Wrapping(0),
            published_used: Wrapping(0),
        }
    }

    /// The queue's parameters.
    pub fn params(&self) -> &QueueParams {
        &self.params
    }

    fn read_u16(mem: &dyn GuestMemoryAccess, addr: u64) -> Result<u16, QueueError> {
        mem.read_plain::<u16>(addr)
            .map_err(|_| QueueError::Ring(addr))
    }

    /// Takes the next available chain into `out`, returning its head index, or `None`
    /// when the ring is empty.
    pub fn pop(
        &mut self,
        mem: &dyn GuestMemoryAccess,
        out: &mut Vec<Segment>,
    ) -> Result<Option<u16>, QueueError> {
        let p = self.params;
        let avail_idx = Wrapping(Self::read_u16(mem, p.avail + 2)?);
        let pending = avail_idx - self.next_avail;
        if pending.0 == 0 {
            return Ok(None);
        }
        if pending.0 > p.size {
            return Err(QueueError::AvailJump {
                from: self.next_avail.0,
                to: avail_idx.0,
            });
        }
        // Read the ring entry only after seeing the index that published it.
        fence(Ordering::Acquire);
        let slot = u64::from(self.next_avail.0 % p.size);
        let head = Self::read_u16(mem, p.avail + 4 + 2 * slot)?;
        read_chain(mem, p.desc, p.size, head, self.indirect, out)?;
        self.next_avail += 1;
        Ok(Some(head))
    }

    /// Puts a used element (not yet visible to the driver until [`Self::publish`]).
    pub fn push_used(
        &mut self,
        mem: &dyn GuestMemoryAccess,
        head: u16,
        len: u32,
    ) -> Result<(), QueueError> {
        let p = self.params;
        let slot = u64::from(self.next_used.0 % p.size);
        let at = p.used + 4 + 8 * slot;
        let elem = [u32::from(head), len];
        mem.write_plain(at, &elem)
            .map_err(|_| QueueError::Ring(at))?;
        self.next_used += 1;
        Ok(())
    }

    /// Makes pushed used elements visible; returns whether any were published.
    pub fn publish(&mut self, mem: &dyn GuestMemoryAccess) -> Result<bool, QueueError> {
        if self.published_used == self.next_used {
            return Ok(false);
        }
        // The elements must be visible before the index that publishes them.
        fence(Ordering::Release);
        let at = self.params.used + 2;
        mem.write_plain(at, &self.next_used.0)
            .map_err(|_| QueueError::Ring(at))?;
        self.published_used = self.next_used;
        // The driver's flags must be read after the index is visible.
        fence(Ordering::SeqCst);
        Ok(true)
    }

    /// Whether the driver wants an interrupt for used buffers (no EVENT_IDX here).
    pub fn wants_interrupt(&self, mem: &dyn GuestMemoryAccess) -> Result<bool, QueueError> {
        Ok(Self::read_u16(mem, self.params.avail)? & AVAIL_F_NO_INTERRUPT == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Descriptor;
    use crate::spec::desc;
    use guestmem::GuestMemory;

    const DESC: u64 = 0x1000;
    const AVAIL: u64 = 0x2000;
    const USED: u64 = 0x3000;

    fn setup(size: u16) -> (GuestMemory, SplitQueue) {
        let mem = GuestMemory::new(&[(0, 0x10000)]).unwrap();
        let p = QueueParams {
            size,
            desc: DESC,
            avail: AVAIL,
            used: USED,
        };
        p.validate(256).unwrap();
        (mem, SplitQueue::new(p, false))
    }

    fn offer(mem: &GuestMemory, slot: u16, head: u16, idx: u16) {
        mem.write_plain(AVAIL + 4 + 2 * slot as u64, &head).unwrap();
        mem.write_plain(AVAIL + 2, &idx).unwrap();
    }

    #[test]
    fn params_validation() {
        let ok = QueueParams {
            size: 8,
            desc: 0x1000,
            avail: 0x2002,
            used: 0x3004,
        };
        assert_eq!(ok.validate(256), Ok(()));
        for size in [0, 3, 512] {
            assert_eq!(
                QueueParams { size, ..ok }.validate(256),
                Err(ParamsError::Size(size))
            );
        }
        assert_eq!(
            QueueParams { desc: 8, ..ok }.validate(256),
            Err(ParamsError::Alignment)
        );
        assert_eq!(
            QueueParams {
                used: u64::MAX - 3,
                ..ok
            }
            .validate(256),
            Err(ParamsError::Wraps)
        );
    }

    #[test]
    fn pop_push_publish() {
        let (mem, mut q) = setup(4);
        let mut out = Vec::new();
        assert_eq!(q.pop(&mem, &mut out), Ok(None));
        mem.write_plain(
            DESC + 16 * 2,
            &Descriptor {
                addr: 0x8000,
                len: 1,
                flags: desc::F_WRITE,
                next: 0,
            },
        )
        .unwrap();
        offer(&mem, 0, 2, 1);
        assert_eq!(q.pop(&mem, &mut out), Ok(Some(2)));
        assert_eq!(out.len(), 1);
        assert_eq!(q.pop(&mem, &mut out), Ok(None));
        q.push_used(&mem, 2, 1).unwrap();
        assert_eq!(mem.read_plain::<u16>(USED + 2).unwrap(), 0);
        assert!(q.publish(&mem).unwrap());
        assert!(!q.publish(&mem).unwrap());
        assert_eq!(mem.read_plain::<u16>(USED + 2).unwrap(), 1);
        assert_eq!(mem.read_plain::<[u32; 2]>(USED + 4).unwrap(), [2, 1]);
        assert!(q.wants_interrupt(&mem).unwrap());
        mem.write_plain(AVAIL, &AVAIL_F_NO_INTERRUPT).unwrap();
        assert!(!q.wants_interrupt(&mem).unwrap());
    }

    #[test]
    fn hostile_avail_index() {
        let (mem, mut q) = setup(4);
        let mut out = Vec::new();
        offer(&mem, 0, 0, 5);
        assert_eq!(
            q.pop(&mem, &mut out),
            Err(QueueError::AvailJump { from: 0, to: 5 })
        );
        // A head index outside the table.
        offer(&mem, 0, 7, 1);
        assert!(matches!(
            q.pop(&mem, &mut out),
            Err(QueueError::Chain(ChainError::IndexOutOfRange {
                index: 7,
                ..
            }))
        ));
    }

    #[test]
    fn rings_beyond_ram() {
        let mem = GuestMemory::new(&[(0, 0x10000)]).unwrap();
        let mut q = SplitQueue::new(
            QueueParams {
                size: 4,
                desc: 0x10_0000,
                avail: 0x20_0000,
                used: 0x30_0000,
            },
            false,
        );
        let mut out = Vec::new();
        assert_eq!(q.pop(&mem, &mut out), Err(QueueError::Ring(0x20_0002)));
        q.push_used(&mem, 0, 0).unwrap_err();
    }
}
