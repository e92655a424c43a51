//! Root System Description Pointer (ACPI 6.5, section 5.2.5.3).

use crate::header::checksum;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// RSDP, revision 2 (36 bytes).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Rsdp {
    /// "RSD PTR ".
    pub signature: [u8; 8],
    /// Checksum of the first 20 bytes.
    pub checksum: u8,
    /// OEM id.
    pub oem_id: [u8; 6],
    /// 2 for ACPI 2.0 and later.
    pub revision: u8,
    /// 32-bit RSDT address (0: none).
    pub rsdt_address: u32,
    /// Length of this structure (36).
    pub length: u32,
    /// 64-bit XSDT address.
    pub xsdt_address: u64,
    /// Checksum of the whole structure.
    pub extended_checksum: u8,
    /// Reserved.
    pub reserved: [u8; 3],
}

impl Rsdp {
    /// An RSDP pointing at the XSDT at `xsdt_address`, with both checksums set.
    pub fn new(oem_id: [u8; 6], xsdt_address: u64) -> Self {
        let mut rsdp = Self {
            signature: *b"RSD PTR ",
            checksum: 0,
            oem_id,
            revision: 2,
            rsdt_address: 0,
            length: size_of::<Self>() as u32,
            xsdt_address,
            extended_checksum: 0,
            reserved: [0; 3],
        };
        rsdp.checksum = checksum(&rsdp.as_bytes()[..20]);
        rsdp.extended_checksum = checksum(rsdp.as_bytes());
        rsdp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        let r = Rsdp::new(*b"OPNVMM", 0x1234_5678);
        let b = r.as_bytes();
        assert_eq!(b.len(), 36);
        assert_eq!(b[..20].iter().fold(0u8, |a, x| a.wrapping_add(*x)), 0);
        assert_eq!(b.iter().fold(0u8, |a, x| a.wrapping_add(*x)), 0);
    }
}
