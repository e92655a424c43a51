//! Guest physical memory shared with KVM.
//!
//! [`GuestMemory`] owns the host mappings that back guest RAM and offers
//! bounds-checked, overflow-safe accessors. Every guest-provided address and
//! length is treated as untrusted: an access that touches any byte outside
//! guest RAM fails with [`GuestMemoryError::OutOfRange`] before a single byte
//! is copied.
//!
//! The access interface lives on the dyn-compatible [`GuestMemoryAccess`]
//! trait (plus the generic helpers of [`GuestMemoryAccessExt`]), so that a
//! per-device translating view (IOVA → GPA) can offer the same interface and
//! report translation faults through [`GuestMemoryError::Fault`].
//! `GuestMemory` also has inherent methods with the same names, so plain users
//! need not import the traits.

// Unsafe code is confined to the 16-byte compare-exchange module.
#![deny(unsafe_code)]

mod access;
#[allow(unsafe_code)]
mod cmpxchg16;
mod error;
mod layout;
mod memory;

pub use access::GuestMemoryAccess;
pub use access::GuestMemoryAccessExt;
pub use error::GuestMemoryError;
pub use layout::PAGE_SIZE;
pub use memory::GuestMemory;
pub use memory::MemoryRegionInfo;
