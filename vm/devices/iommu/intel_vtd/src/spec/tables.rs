//! Legacy-mode translation structures in guest memory (VT-d spec rev 4.x, chapter 9,
//! "Translation Structure Formats", and chapter 3, "DMA Remapping").
//!
//! The root table holds 256 root entries (one per bus); each present root entry points
//! to a context table of 256 context entries (one per device/function). A context
//! entry selects the translation type and the second-level page-table root.

use bitfield_struct::bitfield;

/// Bytes in a root or legacy context entry (VT-d §9.1, §9.3).
pub const ENTRY_SIZE: u64 = 16;
/// Entries in a root table or a context table (VT-d §9.1, §9.3).
pub const ENTRIES_PER_TABLE: u64 = 256;

/// Legacy-mode root entry (VT-d §9.1, "Root Entry"). Bits 127:64 are reserved.
#[bitfield(u128)]
#[derive(PartialEq, Eq)]
pub struct RootEntry {
    /// Present.
    pub p: bool,
    /// Reserved.
    #[bits(11)]
    pub rsvd_lo: u16,
    /// Context table pointer (bits 63:12).
    #[bits(52)]
    pub ctp: u64,
    /// Reserved (upper context table pointer in scalable mode).
    pub rsvd_hi: u64,
}

/// Context entry translation types (VT-d §9.3, TT field).
pub mod tt {
    /// Untranslated requests go through second-level translation.
    pub const MULTI_LEVEL: u8 = 0;
    /// Like `MULTI_LEVEL`, plus device-TLB (ATS) requests; needs ECAP.DT.
    pub const DEV_IOTLB: u8 = 1;
    /// Untranslated requests pass through untranslated; needs ECAP.PT.
    pub const PASS_THROUGH: u8 = 2;
}

/// Legacy-mode context entry (VT-d §9.3, "Context Entry").
#[bitfield(u128)]
#[derive(PartialEq, Eq)]
pub struct ContextEntry {
    /// Present.
    pub p: bool,
    /// Fault processing disable: faults through this entry are not recorded.
    /// Evaluated even when P is clear.
    pub fpd: bool,
    /// Translation type (see [`tt`]).
    #[bits(2)]
    pub tt: u8,
    /// Reserved.
    #[bits(8)]
    pub rsvd0: u8,
    /// Second-level page-table pointer (bits 63:12).
    #[bits(52)]
    pub slptptr: u64,
    /// Address width: 1 = 39-bit (3-level), 2 = 48-bit (4-level), 3 = 57-bit.
    #[bits(3)]
    pub aw: u8,
    /// Available to software.
    #[bits(4)]
    pub avail: u8,
    /// Reserved.
    pub rsvd1: bool,
    /// Domain identifier.
    pub did: u16,
    /// Reserved.
    #[bits(40)]
    pub rsvd2: u64,
}

/// Second-level paging entry, any level (VT-d §9.8, "Second-Level Paging Entries").
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct SlPte {
    /// Read permission.
    pub r: bool,
    /// Write permission.
    pub w: bool,
    /// Execute permission (ignored: execute requests are not supported).
    pub x: bool,
    /// Extended memory type (leaf; ignored without ECAP.MTS).
    #[bits(3)]
    pub emt: u8,
    /// Ignore PAT (leaf; ignored without ECAP.MTS).
    pub ipat: bool,
    /// Page size: maps a 1 GiB (PDPE) or 2 MiB (PDE) page; reserved in a PML4E.
    pub ps: bool,
    /// Accessed (ignored: not updated by this implementation).
    pub a: bool,
    /// Dirty / ignored.
    pub d: bool,
    /// Ignored.
    pub ign10: bool,
    /// Snoop behaviour; reserved without ECAP.SC.
    pub snp: bool,
    /// Address of the next table or of the page (bits 51:12 used up to the HAW).
    #[bits(40)]
    pub addr: u64,
    /// Ignored.
    #[bits(10)]
    pub ign52: u16,
    /// Transient mapping; reserved without ECAP.DT.
    pub tm: bool,
    /// Ignored.
    pub ign63: bool,
}

impl SlPte {
    /// Whether the entry is present (R or W set, VT-d §3.6).
    pub const fn present(&self) -> bool {
        self.r() || self.w()
    }
}
