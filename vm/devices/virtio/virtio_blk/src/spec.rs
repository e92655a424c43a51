//! Virtio 1.2 constants: device status, feature bits, the PCI transport's capability
//! types and the block device's request types and status codes.

/// Virtio PCI vendor id.
pub const VIRTIO_VENDOR_ID: u16 = 0x1af4;
/// Modern (non-transitional) PCI device id base: 0x1040 + device type (§4.1.2.1).
pub const PCI_DEVICE_ID_BASE: u16 = 0x1040;
/// Device type: block (§5.2).
pub const DEVICE_TYPE_BLOCK: u16 = 2;
/// PCI class code: mass storage controller, other.
pub const CLASS_STORAGE_OTHER: u32 = 0x01_80_00;

/// Device status (§2.1).
pub mod status {
    /// The guest noticed the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The guest knows how to drive it.
    pub const DRIVER: u8 = 2;
    /// The driver is set up and ready.
    pub const DRIVER_OK: u8 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u8 = 8;
    /// The device hit an error it cannot recover from without a reset.
    pub const DEVICE_NEEDS_RESET: u8 = 0x40;
    /// The guest gave up on the device.
    pub const FAILED: u8 = 0x80;
}

/// Feature bits (§6 and §5.2.3).
pub mod features {
    /// Maximum size of any single segment is in `size_max`.
    pub const BLK_F_SIZE_MAX: u64 = 1 << 1;
    /// Maximum number of segments in a request is in `seg_max`.
    pub const BLK_F_SEG_MAX: u64 = 1 << 2;
    /// The device is read-only.
    pub const BLK_F_RO: u64 = 1 << 5;
    /// Block size of the disk is in `blk_size`.
    pub const BLK_F_BLK_SIZE: u64 = 1 << 6;
    /// Cache flush command support.
    pub const BLK_F_FLUSH: u64 = 1 << 9;
    /// The number of queues is in `num_queues`.
    pub const BLK_F_MQ: u64 = 1 << 12;
    /// Indirect descriptors (§2.7.5.3).
    pub const RING_F_INDIRECT_DESC: u64 = 1 << 28;
    /// Used/avail event index suppression (not offered by this device).
    pub const RING_F_EVENT_IDX: u64 = 1 << 29;
    /// Virtio 1.x compliance.
    pub const VERSION_1: u64 = 1 << 32;
    /// The device accesses memory through bus addresses translated by the platform
    /// (an IOMMU): the driver must use the DMA API.
    pub const ACCESS_PLATFORM: u64 = 1 << 33;
}

/// `cfg_type` values of the virtio PCI capabilities (§4.1.4).
pub mod cap {
    /// Common configuration.
    pub const COMMON_CFG: u8 = 1;
    /// Notifications.
    pub const NOTIFY_CFG: u8 = 2;
    /// ISR status.
    pub const ISR_CFG: u8 = 3;
    /// Device-specific configuration.
    pub const DEVICE_CFG: u8 = 4;
    /// PCI configuration access window.
    pub const PCI_CFG: u8 = 5;
}

/// "No MSI-X vector" (§4.1.5.1.2).
pub const NO_VECTOR: u16 = 0xffff;

/// Split virtqueue descriptor flags (§2.7.5).
pub mod desc {
    /// The chain continues in `next`.
    pub const F_NEXT: u16 = 1;
    /// Device-writable buffer.
    pub const F_WRITE: u16 = 2;
    /// The buffer holds a table of indirect descriptors.
    pub const F_INDIRECT: u16 = 4;
    /// Size of one descriptor.
    pub const SIZE: u64 = 16;
}

/// Available ring flag: the driver needs no interrupt (§2.7.7).
pub const AVAIL_F_NO_INTERRUPT: u16 = 1;

/// Block request types (§5.2.6).
pub mod req {
    /// Read.
    pub const IN: u32 = 0;
    /// Write.
    pub const OUT: u32 = 1;
    /// Flush the write cache.
    pub const FLUSH: u32 = 4;
    /// Device id string.
    pub const GET_ID: u32 = 8;
    /// Length of the device id string.
    pub const ID_BYTES: usize = 20;
}

/// Block request status codes (§5.2.6).
pub mod blk_status {
    /// Success.
    pub const OK: u8 = 0;
    /// Device or driver error.
    pub const IOERR: u8 = 1;
    /// Unsupported request.
    pub const UNSUPP: u8 = 2;
}

/// Sector size of block requests.
pub const SECTOR_SIZE: u64 = 512;
