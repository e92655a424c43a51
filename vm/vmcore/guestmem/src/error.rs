//! The error type of guest memory accesses.

/// An error from creating or accessing guest memory.
#[derive(Debug, thiserror::Error)]
pub enum GuestMemoryError {
    /// Some byte of the range `[gpa, gpa + len)` is not backed by guest
    /// memory (or the range wraps around the address space).
    #[error("guest range {gpa:#x}+{len:#x} is outside guest memory")]
    OutOfRange {
        /// The first address of the access.
        gpa: u64,
        /// The length of the access in bytes.
        len: u64,
    },
    /// An atomic access was not naturally aligned.
    #[error("guest address {gpa:#x} is not aligned to {align} bytes")]
    Unaligned {
        /// The address of the access.
        gpa: u64,
        /// The required alignment in bytes.
        align: u64,
    },
    /// A translating view (for example an IOMMU-translated DMA target) could
    /// not translate `addr`; the fault has been reported by the translator.
    #[error("translation fault at {addr:#x} on {}", if *write { "write" } else { "read" })]
    Fault {
        /// The untranslated address (for example an IOVA) that faulted.
        addr: u64,
        /// Whether the faulting access was a write.
        write: bool,
    },
    /// A region passed to [`GuestMemory::new`](crate::GuestMemory::new) is
    /// empty, not page-aligned, or wraps around the address space.
    #[error("invalid guest memory region {gpa:#x}+{len:#x}: {reason}")]
    InvalidRegion {
        /// The region's guest physical address.
        gpa: u64,
        /// The region's length in bytes.
        len: u64,
        /// Why the region was rejected.
        reason: &'static str,
    },
    /// Two regions passed to [`GuestMemory::new`](crate::GuestMemory::new)
    /// overlap.
    #[error("guest memory regions at {first:#x} and {second:#x} overlap")]
    Overlap {
        /// The lower region's guest physical address.
        first: u64,
        /// The higher region's guest physical address.
        second: u64,
    },
    /// The host could not allocate the backing memory.
    #[error("failed to allocate host memory for guest region {gpa:#x}+{len:#x}")]
    Alloc {
        /// The region's guest physical address.
        gpa: u64,
        /// The region's length in bytes.
        len: u64,
        /// The underlying allocation error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
