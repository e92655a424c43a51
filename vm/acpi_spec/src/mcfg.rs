//! PCI Express memory-mapped configuration table (PCI Firmware Specification 3.3,
//! section 4.1.2), signature "MCFG".

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// MCFG revision.
pub const MCFG_REVISION: u8 = 1;

/// One ECAM allocation (16 bytes).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct McfgAllocation {
    /// ECAM base address of bus 0 of the segment (the window for `start_bus` starts
    /// at base + start_bus << 20).
    pub base_address: u64,
    /// PCI segment group.
    pub segment: u16,
    /// First bus decoded.
    pub start_bus: u8,
    /// Last bus decoded.
    pub end_bus: u8,
    /// Reserved.
    pub reserved: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size() {
        assert_eq!(size_of::<McfgAllocation>(), 16);
    }
}
