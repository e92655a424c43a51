//! Host (v1) I/O page table entries (#48882 §2.2.3, "I/O Page Tables for Host
//! Translations"): PDEs and PTEs share one 64-bit layout.

use bitfield_struct::bitfield;

/// Bytes per page table entry.
pub const PTE_SIZE: u64 = 8;
/// Entries per 4 KiB table (9 index bits per level).
pub const ENTRIES_PER_TABLE: u64 = 512;
/// NextLevel value of a page with its size encoded in the address field
/// (#48882 §2.2.3.1).
pub const NEXT_LEVEL_SIZED_PAGE: u8 = 7;

/// An I/O PDE or PTE (#48882 §2.2.3, Figures "I/O Page Directory Entry" and "I/O Page
/// Table Entry").
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Pte {
    /// PR: present.
    pub pr: bool,
    #[bits(4)]
    _ignored1: u8,
    /// A: accessed (not updated by this model: HAD is not advertised).
    pub a: bool,
    /// D: dirty (PTE only).
    pub d: bool,
    #[bits(2)]
    _ignored7: u8,
    /// NextLevel: 0 = page at this level; 1..=6 = next table level; 7 = page with
    /// the size encoded in the low address bits.
    #[bits(3)]
    pub next_level: u8,
    /// Address bits 51:12 (next table, or page frame).
    #[bits(40)]
    pub addr: u64,
    #[bits(7)]
    _reserved52: u8,
    /// U: untranslated access only (ATS).
    pub u: bool,
    /// FC: force coherent.
    pub fc: bool,
    /// IR: read permission.
    pub ir: bool,
    /// IW: write permission.
    pub iw: bool,
    #[bits(1)]
    _ignored63: u8,
}

/// Reserved bits 58:52 of a present entry (#48882 §2.2.3).
pub const PTE_RESERVED: u64 = 0x7f << 52;

impl Pte {
    /// Address field as a byte address.
    pub fn address(&self) -> u64 {
        self.addr() << 12
    }
}

/// Address bits translated at `level` (1 = the 4 KiB leaf table) start here.
pub const fn level_shift(level: u8) -> u32 {
    12 + 9 * (level as u32 - 1)
}
