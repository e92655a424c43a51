//! Walking a split virtqueue descriptor chain (§2.7.5), direct and indirect, into a
//! bounded list of guest buffers.
//!
//! Every index, length and address is guest-controlled: the walk stops after the queue
//! size in descriptors whatever the guest wrote (so loops terminate), rejects indices
//! outside the table, and never nests indirect tables.

use crate::spec::desc;
use guestmem::GuestMemoryAccess;
use guestmem::GuestMemoryAccessExt;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;

/// One descriptor as laid out in guest memory (little-endian on every host this
/// VMM supports).
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Descriptor {
    /// Bus address of the buffer.
    pub addr: u64,
    /// Length of the buffer.
    pub len: u32,
    /// `F_NEXT`, `F_WRITE`, `F_INDIRECT`.
    pub flags: u16,
    /// Next descriptor when `F_NEXT` is set.
    pub next: u16,
}

/// A guest buffer of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Bus address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// Whether the device may write it (else it may only read it).
    pub writable: bool,
}

/// A chain the device cannot make sense of; the queue can no longer be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A head or `next` index outside the table.
    #[error("descriptor index {index} outside a table of {size}")]
    IndexOutOfRange {
        /// The index.
        index: u16,
        /// The table's size.
        size: u32,
    },
    /// More descriptors than the queue size: a loop or a hostile chain.
    #[error("chain longer than {0} descriptors")]
    TooLong(u32),
    /// The descriptor table could not be read (beyond RAM, or an IOMMU fault).
    #[error("descriptor at {0:#x} unreadable")]
    Unreadable(u64),
    /// A malformed indirect descriptor.
    #[error("bad indirect descriptor: {0}")]
    BadIndirect(&'static str),
}

/// Reads the chain starting at `head` of the table at `table` with `size` entries into
/// `out` (cleared first). At most `size` descriptors are read in all (direct and
/// indirect), as the specification requires of drivers.
pub fn read_chain(
    mem: &dyn GuestMemoryAccess,
    table: u64,
    size: u16,
    head: u16,
    indirect_allowed: bool,
    out: &mut Vec<Segment>,
) -> Result<(), ChainError> {
    out.clear();
    let limit = u32::from(size);
    let mut count = 0u32;
    let mut index = head;
    // (table address, entries) being walked; starts with the queue's own table.
    let mut current = (table, u32::from(size));
    let mut in_indirect = false;
    loop {
        if u32::from(index) >= current.1 {
            return Err(ChainError::IndexOutOfRange {
                index,
                size: current.1,
            });
        }
        count += 1;
        if count > limit {
            return Err(ChainError::TooLong(limit));
        }
        let at = current
            .0
            .checked_add(u64::from(index) * desc::SIZE)
            .ok_or(ChainError::Unreadable(current.0))?;
        let d: Descriptor = mem.read_plain(at).map_err(|_| ChainError::Unreadable(at))?;
        if d.flags & desc::F_INDIRECT != 0 {
            if !indirect_allowed {
                return Err(ChainError::BadIndirect("not negotiated"));
            }
            if in_indirect {
                return Err(ChainError::BadIndirect("nested"));
            }
            if d.flags & desc::F_NEXT != 0 {
                return Err(ChainError::BadIndirect("NEXT set"));
            }
            if d.len == 0 || u64::from(d.len) % desc::SIZE != 0 {
                return Err(ChainError::BadIndirect("length not a multiple of 16"));
            }
            let entries = u64::from(d.len) / desc::SIZE;
            if entries > u64::from(limit) {
                return Err(ChainError::TooLong(limit));
            }
            // The descriptor pointing at the table does not count toward the chain.
            count -= 1;
            current = (d.addr, entries as u32);
            in_indirect = true;
            index = 0;
            continue;
        }
        out.push(Segment {
            addr: d.addr,
            len: d.len,
            writable: d.flags & desc::F_WRITE != 0,
        });
        if d.flags & desc::F_NEXT == 0 {
            return Ok(());
        }
        index = d.next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guestmem::GuestMemory;

    fn mem() -> GuestMemory {
        GuestMemory::new(&[(0, 0x10000)]).unwrap()
    }

    fn put(mem: &GuestMemory, table: u64, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        mem.write_plain(
            table + 16 * i as u64,
            &Descriptor {
                addr,
                len,
                flags,
                next,
            },
        )
        .unwrap();
    }

    #[test]
    fn direct_chain() {
        let m = mem();
        put(&m, 0, 0, 0x1000, 16, desc::F_NEXT, 2);
        put(&m, 0, 2, 0x2000, 512, desc::F_NEXT | desc::F_WRITE, 1);
        put(&m, 0, 1, 0x3000, 1, desc::F_WRITE, 0);
        let mut out = Vec::new();
        read_chain(&m, 0, 4, 0, false, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[1],
            Segment {
                addr: 0x2000,
                len: 512,
                writable: true
            }
        );
    }

    #[test]
    fn loops_terminate() {
        let m = mem();
        put(&m, 0, 0, 0x1000, 16, desc::F_NEXT, 1);
        put(&m, 0, 1, 0x1000, 16, desc::F_NEXT, 0);
        let mut out = Vec::new();
        assert_eq!(
            read_chain(&m, 0, 8, 0, false, &mut out),
            Err(ChainError::TooLong(8))
        );
        // Self loop.
        put(&m, 0, 3, 0x1000, 16, desc::F_NEXT, 3);
        assert_eq!(
            read_chain(&m, 0, 8, 3, false, &mut out),
            Err(ChainError::TooLong(8))
        );
    }

    #[test]
    fn out_of_range_indices() {
        let m = mem();
        let mut out = Vec::new();
        assert!(matches!(
            read_chain(&m, 0, 4, 4, false, &mut out),
            Err(ChainError::IndexOutOfRange { index: 4, .. })
        ));
        put(&m, 0, 0, 0x1000, 16, desc::F_NEXT, 0xffff);
        assert!(matches!(
            read_chain(&m, 0, 4, 0, false, &mut out),
            Err(ChainError::IndexOutOfRange { index: 0xffff, .. })
        ));
    }

    #[test]
    fn table_beyond_ram() {
        let m = mem();
        let mut out = Vec::new();
        assert!(matches!(
            read_chain(&m, 0x10_0000, 4, 0, false, &mut out),
            Err(ChainError::Unreadable(_))
        ));
        // A table near the top of the address space does not wrap.
        assert!(matches!(
            read_chain(&m, u64::MAX - 15, 4, 3, false, &mut out),
            Err(ChainError::Unreadable(_))
        ));
    }

    #[test]
    fn indirect_tables() {
        let m = mem();
        // Indirect table at 0x4000 with three entries.
        put(&m, 0x4000, 0, 0x1000, 16, desc::F_NEXT, 1);
        put(&m, 0x4000, 1, 0x2000, 512, desc::F_NEXT | desc::F_WRITE, 2);
        put(&m, 0x4000, 2, 0x3000, 1, desc::F_WRITE, 0);
        put(&m, 0, 0, 0x4000, 48, desc::F_INDIRECT, 0);
        let mut out = Vec::new();
        read_chain(&m, 0, 8, 0, true, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        assert!(matches!(
            read_chain(&m, 0, 8, 0, false, &mut out),
            Err(ChainError::BadIndirect(_))
        ));
        // Bad length, NEXT with INDIRECT, nested, too many entries, index past the table.
        put(&m, 0, 0, 0x4000, 47, desc::F_INDIRECT, 0);
        assert!(read_chain(&m, 0, 8, 0, true, &mut out).is_err());
        put(&m, 0, 0, 0x4000, 48, desc::F_INDIRECT | desc::F_NEXT, 1);
        assert!(read_chain(&m, 0, 8, 0, true, &mut out).is_err());
        put(&m, 0, 0, 0x4000, 48, desc::F_INDIRECT, 0);
        put(&m, 0x4000, 2, 0x4000, 48, desc::F_INDIRECT, 0);
        assert_eq!(
            read_chain(&m, 0, 8, 0, true, &mut out),
            Err(ChainError::BadIndirect("nested"))
        );
        put(&m, 0, 0, 0x4000, 16 * 9, desc::F_INDIRECT, 0);
        assert_eq!(
            read_chain(&m, 0, 8, 0, true, &mut out),
            Err(ChainError::TooLong(8))
        );
        put(&m, 0, 0, 0x4000, 32, desc::F_INDIRECT, 0);
        assert!(matches!(
            read_chain(&m, 0, 8, 0, true, &mut out),
            Err(ChainError::IndexOutOfRange { index: 2, size: 2 })
        ));
        // A loop inside an indirect table terminates.
        put(&m, 0, 0, 0x4000, 32, desc::F_INDIRECT, 0);
        put(&m, 0x4000, 1, 0x2000, 512, desc::F_NEXT, 0);
        assert_eq!(
            read_chain(&m, 0, 8, 0, true, &mut out),
            Err(ChainError::TooLong(8))
        );
    }
}
