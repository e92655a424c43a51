//! IO Remapping Table (Arm DEN 0049, IORT revision E.x): header, node header, ITS
//! group, SMMUv3 and root complex nodes, and ID mappings.

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// IORT table signature.
pub const SIGNATURE: [u8; 4] = *b"IORT";
/// Table revision for IORT issue E.a (DEN 0049, table 2).
pub const REVISION: u8 = 3;

/// Node types (DEN 0049 §3.1, table 4).
pub mod node_type {
    /// ITS group.
    pub const ITS_GROUP: u8 = 0;
    /// Named component.
    pub const NAMED_COMPONENT: u8 = 1;
    /// PCI root complex.
    pub const ROOT_COMPLEX: u8 = 2;
    /// SMMUv1/v2.
    pub const SMMU_V2: u8 = 3;
    /// SMMUv3.
    pub const SMMU_V3: u8 = 4;
}

/// ID mapping flag: the mapping is a single mapping for the node's own interrupts
/// (DEN 0049 §3.1.1.2, table 5).
pub const ID_MAPPING_SINGLE: u32 = 1;

/// The fields after the SDT header (DEN 0049 §3, table 2).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IortHeader {
    /// Number of nodes in the node array.
    pub num_nodes: u32,
    /// Offset of the node array from the start of the table.
    pub node_offset: u32,
    /// Reserved, zero.
    pub reserved: u32,
}

/// Common node header (DEN 0049 §3.1, table 3). 16 bytes.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NodeHeader {
    /// Node type: see [`node_type`].
    pub node_type: u8,
    /// Length of the node, ID mappings included.
    pub length: u16,
    /// Node revision.
    pub revision: u8,
    /// Unique node identifier (issue E.a onwards).
    pub identifier: u32,
    /// Number of ID mappings.
    pub num_id_mappings: u32,
    /// Offset of the ID mapping array from the start of the node.
    pub id_mapping_offset: u32,
}

/// One ID mapping (DEN 0049 §3.1.1.2, table 5). 20 bytes.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IdMapping {
    /// First input ID.
    pub input_base: u32,
    /// Number of IDs in the range minus one.
    pub num_ids: u32,
    /// First output ID.
    pub output_base: u32,
    /// Offset (from the table start) of the node the output IDs belong to.
    pub output_reference: u32,
    /// Flags: [`ID_MAPPING_SINGLE`].
    pub flags: u32,
}

/// ITS group node fixed part after the node header (DEN 0049 §3.1.1.1, table 11);
/// followed by `its_count` u32 ITS identifiers (matching the MADT GIC ITS entries).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct ItsGroup {
    /// Node header (type 0).
    pub header: NodeHeader,
    /// Number of ITS identifiers that follow.
    pub its_count: u32,
}

/// Node revision of the ITS group node this crate emits.
pub const ITS_GROUP_REVISION: u8 = 1;

/// SMMUv3 node (DEN 0049 §3.1.1.5, table 17). 68 bytes before its ID mappings.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct SmmuV3 {
    /// Node header (type 4).
    pub header: NodeHeader,
    /// Base address of the SMMU's register pages.
    pub base_address: u64,
    /// Flags: bit 0 COHACC override, bits 2:1 HTTU override, bit 3 proximity domain
    /// valid, bit 4 DeviceID mapping index valid.
    pub flags: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// VATOS page address (0: none).
    pub vatos_address: u64,
    /// Model: 0 = generic SMMUv3.
    pub model: u32,
    /// Event queue interrupt GSIV (0: MSI).
    pub event_gsiv: u32,
    /// PRI queue interrupt GSIV.
    pub pri_gsiv: u32,
    /// GERROR interrupt GSIV.
    pub gerr_gsiv: u32,
    /// CMD_SYNC interrupt GSIV.
    pub sync_gsiv: u32,
    /// Proximity domain.
    pub proximity_domain: u32,
    /// Index of the ID mapping that gives the SMMU's own MSIs their DeviceID.
    pub device_id_mapping_index: u32,
}

/// Node revision of the SMMUv3 node this crate emits (issue E.a layout).
pub const SMMU_V3_REVISION: u8 = 4;
/// SMMUv3 flag: COHACC override (the SMMU's table/queue accesses are coherent).
pub const SMMU_V3_FLAG_COHACC: u32 = 1 << 0;
/// SMMUv3 flag: DeviceID mapping index valid.
pub const SMMU_V3_FLAG_DEVICEID_VALID: u32 = 1 << 4;

/// Root complex node (DEN 0049 §3.1.1.3, table 14). 36 bytes before its ID mappings.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct RootComplex {
    /// Node header (type 2).
    pub header: NodeHeader,
    /// Memory access properties: cache coherency attribute (1 = coherent).
    pub cache_coherent: u32,
    /// Memory access properties: allocation hints.
    pub allocation_hints: u8,
    /// Memory access properties: reserved.
    pub reserved0: u16,
    /// Memory access properties: memory access flags.
    pub memory_access_flags: u8,
    /// ATS attribute: bit 0 = ATS supported.
    pub ats_attribute: u32,
    /// PCI segment number (matches MCFG and _SEG).
    pub pci_segment_number: u32,
    /// Memory address size limit in bits.
    pub memory_address_size_limit: u8,
    /// Reserved, zero.
    pub reserved1: [u8; 3],
}

/// Node revision of the root complex node this crate emits.
pub const ROOT_COMPLEX_REVISION: u8 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size_of::<IortHeader>(), 12);
        assert_eq!(size_of::<NodeHeader>(), 16);
        assert_eq!(size_of::<IdMapping>(), 20);
        assert_eq!(size_of::<ItsGroup>(), 20);
        assert_eq!(size_of::<SmmuV3>(), 68);
        assert_eq!(size_of::<RootComplex>(), 36);
    }
}
