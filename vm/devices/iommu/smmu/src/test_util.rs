//! Helpers for unit tests: a small guest RAM.

use guestmem::GuestMemory;

/// Guest RAM size used by unit tests.
pub(crate) const RAM_SIZE: u64 = 64 << 20;

/// 64 MiB of zeroed guest RAM at GPA 0.
pub(crate) fn mem() -> GuestMemory {
    GuestMemory::new(&[(0, RAM_SIZE)]).expect("test guest memory")
}
