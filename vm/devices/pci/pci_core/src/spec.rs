//! PCI and PCI Express configuration-space layout: register offsets, capability ids
//! and bits (PCI Local Bus 3.0 chapter 6, PCI Express Base 6.0 chapter 7).

/// Vendor id used by this VMM's devices (shared with the VMM family it belongs to).
pub const VENDOR_ID: u16 = 0x1414;

/// Vendor id (16 bits).
pub const VENDOR: u16 = 0x00;
/// Device id (16 bits).
pub const DEVICE: u16 = 0x02;
/// Command register (PCI 3.0 §6.2.2).
pub const COMMAND: u16 = 0x04;
/// Status register.
pub const STATUS: u16 = 0x06;
/// Revision id + class code (dword).
pub const CLASS_REVISION: u16 = 0x08;
/// Header type.
pub const HEADER_TYPE: u16 = 0x0e;
/// First BAR.
pub const BAR0: u16 = 0x10;
/// Subsystem vendor id (type 0).
pub const SUBSYSTEM_VENDOR: u16 = 0x2c;
/// Subsystem id (type 0).
pub const SUBSYSTEM: u16 = 0x2e;
/// Capabilities pointer.
pub const CAP_PTR: u16 = 0x34;
/// Interrupt line.
pub const INTERRUPT_LINE: u16 = 0x3c;
/// Type 1: primary bus number.
pub const PRIMARY_BUS: u16 = 0x18;
/// Type 1: secondary bus number.
pub const SECONDARY_BUS: u16 = 0x19;
/// Type 1: subordinate bus number.
pub const SUBORDINATE_BUS: u16 = 0x1a;
/// Type 1: I/O base and limit, secondary status.
pub const IO_BASE: u16 = 0x1c;
/// Type 1: memory base and limit.
pub const MEMORY_BASE: u16 = 0x20;
/// Type 1: prefetchable memory base and limit.
pub const PREF_MEMORY_BASE: u16 = 0x24;
/// Type 1: prefetchable base upper 32 bits.
pub const PREF_BASE_UPPER: u16 = 0x28;
/// Type 1: prefetchable limit upper 32 bits.
pub const PREF_LIMIT_UPPER: u16 = 0x2c;
/// Type 1: bridge control.
pub const BRIDGE_CONTROL: u16 = 0x3e;
/// First extended capability (PCIe).
pub const EXT_CAP_START: u16 = 0x100;
/// Size of the PCIe configuration space of one function.
pub const CONFIG_SPACE_SIZE: usize = 4096;

/// Command: I/O space enable.
pub const COMMAND_IO: u16 = 1 << 0;
/// Command: memory space enable.
pub const COMMAND_MEMORY: u16 = 1 << 1;
/// Command: bus master enable.
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
/// Command: SERR# enable.
pub const COMMAND_SERR: u16 = 1 << 8;
/// Command: INTx disable.
pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
/// Status: capabilities list present.
pub const STATUS_CAP_LIST: u16 = 1 << 4;

/// Capability id: PCI Express (PCIe 6.0 §7.5.3).
pub const CAP_ID_PCIE: u8 = 0x10;
/// Capability id: MSI-X (PCI 3.0 §6.8.2).
pub const CAP_ID_MSIX: u8 = 0x11;
/// Capability id: MSI.
pub const CAP_ID_MSI: u8 = 0x05;
/// Capability id: vendor specific (virtio uses it).
pub const CAP_ID_VENDOR: u8 = 0x09;
/// Extended capability id: Access Control Services (PCIe 6.0 §7.7.8).
pub const EXT_CAP_ID_ACS: u16 = 0x000d;

/// PCIe capability: device/port type Endpoint.
pub const PCIE_TYPE_ENDPOINT: u16 = 0x0;
/// PCIe capability: device/port type Root Port.
pub const PCIE_TYPE_ROOT_PORT: u16 = 0x4;

/// ACS: source validation.
pub const ACS_SV: u16 = 1 << 0;
/// ACS: translation blocking.
pub const ACS_TB: u16 = 1 << 1;
/// ACS: P2P request redirect.
pub const ACS_RR: u16 = 1 << 2;
/// ACS: P2P completion redirect.
pub const ACS_CR: u16 = 1 << 3;
/// ACS: upstream forwarding.
pub const ACS_UF: u16 = 1 << 4;
/// ACS: P2P egress control.
pub const ACS_EC: u16 = 1 << 5;
/// ACS: direct translated P2P.
pub const ACS_DT: u16 = 1 << 6;
/// The ACS capabilities a root port advertises by default: everything but egress
/// control, which is what Linux needs to isolate each device in its own iommu group.
pub const ACS_DEFAULT: u16 = ACS_SV | ACS_TB | ACS_RR | ACS_CR | ACS_UF | ACS_DT;

/// Class code: mass storage, SCSI-less "other" (virtio-blk uses 0x01_00_00).
pub const CLASS_STORAGE_SCSI: u32 = 0x01_00_00;
/// Class code: PCI-to-PCI bridge.
pub const CLASS_BRIDGE_PCI: u32 = 0x06_04_00;
/// Class code: system peripheral, other.
pub const CLASS_SYSTEM_OTHER: u32 = 0x08_80_00;
/// Class code: host bridge.
pub const CLASS_BRIDGE_HOST: u32 = 0x06_00_00;
