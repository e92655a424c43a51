//! The IOMMU's PCI function (#48882 §3.2, "IOMMU Configuration Space"): identity,
//! the IOMMU capability block (id 0Fh) and the MSI capability it interrupts through.

/// AMD's PCI vendor id.
pub const VENDOR_ID: u16 = 0x1022;
/// Device id (the one QEMU's emulated AMD IOMMU uses; no Linux quirk keys on it).
pub const DEVICE_ID: u16 = 0x1419;
/// Class code: base class 08h (system peripheral), subclass 06h (IOMMU), prog-if 0
/// (#48882 §3.2.1).
pub const CLASS_CODE: [u8; 3] = [0x08, 0x06, 0x00];

/// Capability id of the IOMMU capability block (#48882 §3.2.2, "Secure device").
pub const CAP_ID: u8 = 0x0f;
/// Bytes of the IOMMU capability block this model implements (header, base low,
/// base high, range, misc 0, misc 1).
pub const CAP_LEN: u16 = 0x18;

/// Capability header register offset (#48882 §3.2.2.1).
pub const CAP_HEADER: u16 = 0x00;
/// Base address low register offset (#48882 §3.2.2.2).
pub const CAP_BASE_LO: u16 = 0x04;
/// Base address high register offset (#48882 §3.2.2.3).
pub const CAP_BASE_HI: u16 = 0x08;
/// Range register offset (#48882 §3.2.2.4).
pub const CAP_RANGE: u16 = 0x0c;
/// Miscellaneous information register 0 offset (#48882 §3.2.2.5).
pub const CAP_MISC0: u16 = 0x10;
/// Miscellaneous information register 1 offset (#48882 §3.2.2.6).
pub const CAP_MISC1: u16 = 0x14;

/// Capability header: CapType = 011b (bits 18:16) (#48882 §3.2.2.1).
pub const CAP_TYPE: u32 = 0b011 << 16;
/// Capability header: CapRev = 00001b (bits 23:19).
pub const CAP_REV: u32 = 0b00001 << 19;
/// Capability header: IotlbSup (bit 24), device IOTLBs supported.
pub const CAP_IOTLB_SUP: u32 = 1 << 24;
/// Capability header: HtTunnel (bit 25).
pub const CAP_HT_TUNNEL: u32 = 1 << 25;
/// Capability header: NpCache (bit 26), the IOMMU caches not-present entries.
pub const CAP_NP_CACHE: u32 = 1 << 26;
/// Capability header: EFRSup (bit 27), the extended feature register exists.
pub const CAP_EFR_SUP: u32 = 1 << 27;
/// Capability header: CapExt (bit 28), misc information register 1 exists.
pub const CAP_EXT: u32 = 1 << 28;

/// Base address low: Enable (bit 0) (#48882 §3.2.2.2).
pub const BASE_ENABLE: u32 = 1;
/// Base address alignment: bits 31:14 hold the address (16 KiB aligned).
pub const BASE_LO_MASK: u32 = 0xffff_c000;

/// Range register: RngValid (bit 7) (#48882 §3.2.2.4).
pub const RANGE_VALID: u32 = 1 << 7;

/// Misc 0: PASize field shift (bits 14:8), physical address bits.
pub const MISC0_PA_SIZE_SHIFT: u32 = 8;
/// Misc 0: VASize field shift (bits 21:15), virtual address bits.
pub const MISC0_VA_SIZE_SHIFT: u32 = 15;
/// Misc 0: GVASize field shift (bits 7:5).
pub const MISC0_GVA_SIZE_SHIFT: u32 = 5;

/// MSI capability id (PCI Local Bus 3.0 §6.8.1).
pub const MSI_CAP_ID: u8 = 0x05;
/// Bytes of the MSI capability this model implements (64-bit address, one vector,
/// no per-vector masking).
pub const MSI_CAP_LEN: u16 = 0x0e;
/// MSI Message Control: MSI Enable (bit 0 of the control word).
pub const MSI_CTRL_ENABLE: u16 = 1;
/// MSI Message Control: 64-bit address capable (bit 7).
pub const MSI_CTRL_64BIT: u16 = 1 << 7;
