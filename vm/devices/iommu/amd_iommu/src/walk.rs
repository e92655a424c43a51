//! The host (v1) page table walk (#48882 §2.2.3): 1 to 6 levels, level skipping
//! through NextLevel, default-size pages (NextLevel = 0 above level 1), pages of any
//! power-of-two size (NextLevel = 7), and IR/IW permissions ANDed across every level.
//!
//! The walk is bounded: NextLevel must strictly decrease, so at most six entries are
//! read whatever the guest wrote (cycles included).

use crate::spec::pte::level_shift;
use crate::spec::pte::Pte;
use crate::spec::pte::ENTRIES_PER_TABLE;
use crate::spec::pte::NEXT_LEVEL_SIZED_PAGE;
use crate::spec::pte::PTE_RESERVED;
use crate::spec::pte::PTE_SIZE;
use guestmem::GuestMemory;
use iommu_common::DmaPerms;

/// A successful walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkResult {
    /// Translated address of the requested IOVA.
    pub gpa: u64,
    /// Size of the page holding it (a power of two).
    pub page_size: u64,
    /// Permissions ANDed over the DTE and every entry walked.
    pub perms: DmaPerms,
}

/// Why a walk failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkFault {
    /// An entry was not present (IO_PAGE_FAULT, PR = 0).
    NotPresent,
    /// The IOVA has bits above what the paging mode translates, or bits of a skipped
    /// level are not zero (IO_PAGE_FAULT, PR = 0).
    AddressRange,
    /// An entry held an illegal NextLevel, page size or reserved bit (IO_PAGE_FAULT,
    /// PR = 1, RZ = 1).
    Illegal,
    /// An entry could not be read from guest memory (PAGE_TAB_HARDWARE_ERROR).
    ReadError {
        /// Address of the entry.
        entry_addr: u64,
    },
}

/// Walks the table rooted at `root` with `levels` levels (DTE.Mode, 1..=6) for `iova`,
/// starting from the permissions `perms` (DTE.IR/IW). Permissions are not checked
/// against the access here; the caller compares them.
pub fn walk(
    mem: &GuestMemory,
    root: u64,
    levels: u8,
    iova: u64,
    perms: DmaPerms,
) -> Result<WalkResult, WalkFault> {
    if !(1..=6).contains(&levels) {
        return Err(WalkFault::Illegal);
    }
    // Mode n translates 12 + 9n address bits (all 64 for six levels).
    let top_shift = level_shift(levels) + 9;
    if top_shift < 64 && iova >> top_shift != 0 {
        return Err(WalkFault::AddressRange);
    }
    let mut perms = perms;
    let mut table = root;
    let mut level = levels;
    // At most `levels` iterations: `level` strictly decreases each round.
    loop {
        let shift = level_shift(level);
        let index = (iova >> shift) & (ENTRIES_PER_TABLE - 1);
        let entry_addr = table.wrapping_add(index * PTE_SIZE);
        let raw: u64 = mem
            .read_plain(entry_addr)
            .map_err(|_| WalkFault::ReadError { entry_addr })?;
        let pte = Pte::from_bits(raw);
        if !pte.pr() {
            return Err(WalkFault::NotPresent);
        }
        if raw & PTE_RESERVED != 0 {
            return Err(WalkFault::Illegal);
        }
        perms = perms.intersect(DmaPerms {
            read: pte.ir(),
            write: pte.iw(),
        });
        let next = pte.next_level();
        if next == 0 {
            // A page of this level's default size.
            let page_size = 1u64 << shift;
            let gpa = (pte.address() & !(page_size - 1)) | (iova & (page_size - 1));
            return Ok(WalkResult {
                gpa,
                page_size,
                perms,
            });
        }
        if next == NEXT_LEVEL_SIZED_PAGE {
            let page_size = sized_page(pte.address(), level).ok_or(WalkFault::Illegal)?;
            let gpa = (pte.address() & !(page_size - 1)) | (iova & (page_size - 1));
            return Ok(WalkResult {
                gpa,
                page_size,
                perms,
            });
        }
        if next >= level {
            // NextLevel must point strictly down: this also breaks any cycle.
            return Err(WalkFault::Illegal);
        }
        // Skipped levels translate nothing: their index bits must be zero.
        let skipped_lo = level_shift(next) + 9;
        if skipped_lo < shift && (iova >> skipped_lo) & ((1u64 << (shift - skipped_lo)) - 1) != 0 {
            return Err(WalkFault::AddressRange);
        }
        table = pte.address();
        level = next;
    }
}

/// The size of a NextLevel = 7 page found at `level` (#48882 §2.2.3.1): the address
/// bits from 12 up are ones up to the first zero bit `z`, and the page is 2^(z+1)
/// bytes. It must be larger than the level's default page and no larger than the
/// region one table at this level covers.
fn sized_page(addr: u64, level: u8) -> Option<u64> {
    let first_zero = (addr | 0xfff).trailing_ones();
    if first_zero > 51 {
        return None;
    }
    let log2 = first_zero + 1;
    let min = level_shift(level) + 1;
    let max = (level_shift(level) + 9).min(52);
    (min..=max).contains(&log2).then(|| 1u64 << log2)
}

#[cfg(test)]
mod tests;
