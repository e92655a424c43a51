//! Little-endian structure reads and writes in guest memory.

use guestmem::GuestMemory;
use guestmem::GuestMemoryError;

/// Reads `N` little-endian doublewords at `gpa`.
pub(crate) fn read_dwords<const N: usize>(
    mem: &GuestMemory,
    gpa: u64,
) -> Result<[u64; N], GuestMemoryError> {
    let mut bytes = [0u8; 64];
    let buf = &mut bytes[..N * 8];
    mem.read_at(gpa, buf)?;
    let mut out = [0u64; N];
    for (i, chunk) in buf.chunks_exact(8).enumerate() {
        out[i] = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
    }
    Ok(out)
}

/// Writes little-endian doublewords at `gpa`.
pub(crate) fn write_dwords(
    mem: &GuestMemory,
    gpa: u64,
    dwords: &[u64],
) -> Result<(), GuestMemoryError> {
    let mut bytes = Vec::with_capacity(dwords.len() * 8);
    for d in dwords {
        bytes.extend_from_slice(&d.to_le_bytes());
    }
    mem.write_at(gpa, &bytes)
}

/// All ones below bit `bits` (saturating at 64).
pub(crate) const fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}
