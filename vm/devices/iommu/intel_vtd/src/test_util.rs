//! Hand-built guest tables for unit tests.

use crate::spec::tables::ContextEntry;
use crate::spec::tables::RootEntry;
use crate::spec::tables::SlPte;
use guestmem::GuestMemory;
use std::cell::Cell;

/// Guest RAM size used by tests.
pub const RAM_SIZE: u64 = 64 << 20;

/// Guest memory with a page allocator.
pub struct TestMem {
    pub mem: GuestMemory,
    next: Cell<u64>,
}

impl TestMem {
    pub fn new() -> Self {
        Self {
            mem: GuestMemory::new(&[(0, RAM_SIZE)]).unwrap(),
            next: Cell::new(0x10_0000),
        }
    }

    /// A zeroed 4 KiB page.
    pub fn alloc(&self) -> u64 {
        let p = self.next.get();
        self.next.set(p + 0x1000);
        p
    }

    pub fn write_u64(&self, gpa: u64, v: u64) {
        self.mem.write_at(gpa, &v.to_le_bytes()).unwrap();
    }

    pub fn write_u128(&self, gpa: u64, v: u128) {
        self.mem.write_at(gpa, &v.to_le_bytes()).unwrap();
    }

    pub fn read_u32(&self, gpa: u64) -> u32 {
        let mut b = [0; 4];
        self.mem.read_at(gpa, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    pub fn set_root(&self, root: u64, bus: u8, ctx: u64) {
        let e = RootEntry::new().with_p(true).with_ctp(ctx >> 12);
        self.write_u128(root + bus as u64 * 16, e.into_bits());
    }

    pub fn set_context(&self, ctx: u64, devfn: u8, e: ContextEntry) {
        self.write_u128(ctx + devfn as u64 * 16, e.into_bits());
    }

    /// Maps `iova` → `gpa` with a page of `1 << page_shift` bytes (12, 21 or 30) in
    /// the `levels`-level table at `root`, building missing tables with R+W.
    #[allow(clippy::too_many_arguments)]
    pub fn map(
        &self,
        root: u64,
        levels: u8,
        iova: u64,
        gpa: u64,
        page_shift: u32,
        r: bool,
        w: bool,
    ) {
        let mut table = root;
        for level in (1..=levels).rev() {
            let shift = 12 + 9 * (level as u32 - 1);
            let slot = table + ((iova >> shift) & 511) * 8;
            if shift == page_shift {
                let pte = SlPte::new()
                    .with_r(r)
                    .with_w(w)
                    .with_ps(shift > 12)
                    .with_addr(gpa >> 12);
                self.write_u64(slot, pte.into_bits());
                return;
            }
            let mut b = [0; 8];
            self.mem.read_at(slot, &mut b).unwrap();
            let cur = SlPte::from(u64::from_le_bytes(b));
            if cur.present() {
                table = cur.addr() << 12;
            } else {
                let next = self.alloc();
                self.write_u64(
                    slot,
                    SlPte::new()
                        .with_r(true)
                        .with_w(true)
                        .with_addr(next >> 12)
                        .into_bits(),
                );
                table = next;
            }
        }
        panic!("page shift {page_shift} not reachable");
    }
}
