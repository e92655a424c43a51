//! Fault reasons recorded in FRCD.FR (VT-d spec rev 4.x, chapter 7, "Handling
//! Errors" and Appendix "Non-Recoverable Fault Reason Encodings").

/// A non-recoverable fault reason (VT-d Appendix A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FaultReason {
    /// The root entry used is not present.
    RootNotPresent = 0x1,
    /// The context entry used is not present.
    ContextNotPresent = 0x2,
    /// Invalid context entry programming: unsupported AW, or TT reserved or not
    /// supported.
    ContextInvalid = 0x3,
    /// Input address above 2^X - 1, X = min(MGAW, AGAW of the context entry).
    AddressBeyondAgaw = 0x4,
    /// Write to a page without write permission (or not present).
    Write = 0x5,
    /// Read of a page without read permission (or not present).
    Read = 0x6,
    /// A second-level paging entry could not be read.
    PagingEntryAccess = 0x7,
    /// The root entry could not be read (also: translation enabled before any root
    /// table pointer was latched, in this implementation).
    RootTableAccess = 0x8,
    /// The context entry could not be read.
    ContextTableAccess = 0x9,
    /// Reserved bits set in a present root entry.
    RootReserved = 0xa,
    /// Reserved bits set in a present context entry.
    ContextReserved = 0xb,
    /// Reserved bits set in a present second-level paging entry.
    PagingEntryReserved = 0xc,
    /// Request blocked by the context entry's translation type.
    TranslationTypeBlocked = 0xd,
    /// Reserved bits set in a remappable-format interrupt request (or the request is
    /// not an interrupt address).
    IrRequestReserved = 0x20,
    /// Interrupt index beyond the table size (IRTA.S).
    IrIndexOverflow = 0x21,
    /// IRTE not present.
    IrEntryNotPresent = 0x22,
    /// The interrupt remapping table could not be read (or no table was latched).
    IrTableAccess = 0x23,
    /// Reserved bits set in a present IRTE.
    IrEntryReserved = 0x24,
    /// Compatibility-format interrupt blocked (CFIS clear or EIME set).
    IrCompatBlocked = 0x25,
    /// Source validation failed (SVT/SQ/SID).
    IrSourceInvalid = 0x26,
}

impl FaultReason {
    /// Whether the fault is an interrupt-remapping fault (FI holds the index).
    pub const fn is_interrupt(self) -> bool {
        self as u8 >= 0x20
    }
}
