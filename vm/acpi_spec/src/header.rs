//! The common system description table header (ACPI 6.5, section 5.2.6).

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// OEM id written into every table this VMM builds.
pub const OEM_ID: [u8; 6] = *b"OPNVMM";
/// OEM table id written into every table this VMM builds.
pub const OEM_TABLE_ID: [u8; 8] = *b"OPENVMM ";
/// Creator id written into every table this VMM builds.
pub const CREATOR_ID: [u8; 4] = *b"OVMM";

/// System description table header (ACPI 6.5, table 5.4). 36 bytes.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct SdtHeader {
    /// Four-character table signature.
    pub signature: [u8; 4],
    /// Length of the whole table, header included.
    pub length: u32,
    /// Table revision.
    pub revision: u8,
    /// Makes the byte sum of the whole table zero.
    pub checksum: u8,
    /// OEM id.
    pub oem_id: [u8; 6],
    /// OEM table id.
    pub oem_table_id: [u8; 8],
    /// OEM revision.
    pub oem_revision: u32,
    /// Creator (ASL compiler) id.
    pub creator_id: [u8; 4],
    /// Creator revision.
    pub creator_revision: u32,
}

impl SdtHeader {
    /// A header for `signature` with this VMM's ids; length and checksum are set by
    /// [`crate::Table::finish`].
    pub fn new(signature: &[u8; 4], revision: u8) -> Self {
        Self {
            signature: *signature,
            length: 0,
            revision,
            checksum: 0,
            oem_id: OEM_ID,
            oem_table_id: OEM_TABLE_ID,
            oem_revision: 1,
            creator_id: CREATOR_ID,
            creator_revision: 1,
        }
    }
}

/// The value that makes the byte sum of `bytes` plus it zero.
pub fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_36_bytes() {
        assert_eq!(size_of::<SdtHeader>(), 36);
    }

    #[test]
    fn checksum_zeroes_sum() {
        let bytes = [1u8, 2, 3, 250];
        let c = checksum(&bytes);
        let sum = bytes.iter().fold(c, |a, b| a.wrapping_add(*b));
        assert_eq!(sum, 0);
    }
}
