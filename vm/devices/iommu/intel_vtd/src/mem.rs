//! Little-endian accesses to structures in guest memory.

use guestmem::GuestMemory;
use guestmem::GuestMemoryError;

/// Reads a little-endian 64-bit value at `gpa`.
pub(crate) fn read_u64(mem: &GuestMemory, gpa: u64) -> Result<u64, GuestMemoryError> {
    let mut b = [0u8; 8];
    mem.read_at(gpa, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads a little-endian 128-bit value at `gpa`.
pub(crate) fn read_u128(mem: &GuestMemory, gpa: u64) -> Result<u128, GuestMemoryError> {
    let mut b = [0u8; 16];
    mem.read_at(gpa, &mut b)?;
    Ok(u128::from_le_bytes(b))
}

/// Writes a little-endian 32-bit value at `gpa`.
pub(crate) fn write_u32(mem: &GuestMemory, gpa: u64, val: u32) -> Result<(), GuestMemoryError> {
    mem.write_at(gpa, &val.to_le_bytes())
}

/// All ones below bit `bits` (saturating at 64).
pub(crate) const fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Mask of a 4 KiB-aligned address field below the host address width `haw`.
pub(crate) const fn page_addr_mask(haw: u8) -> u64 {
    low_mask(haw as u32) & !0xfff
}
