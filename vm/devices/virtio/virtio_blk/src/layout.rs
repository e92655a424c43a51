//! Where everything lives: the single 64-bit BAR holding the common configuration, ISR,
//! device configuration, notification doorbells and the MSI-X table and PBA, and the
//! vendor-specific capabilities (§4.1.4) that point the driver at them.

use crate::common_cfg::COMMON_CFG_LEN;
use crate::device_config::DEVICE_CFG_LEN;
use crate::spec::cap;
use pci_core::config_space::ConfigSpaceFull;
use pci_core::spec::CAP_ID_VENDOR;
use pci_core::BarInfo;
use pci_core::BarKind;
use pci_core::ConfigSpace;

/// The BAR index (a 64-bit BAR also uses the next slot).
pub const BAR_INDEX: u8 = 0;
/// BAR size.
pub const BAR_SIZE: u64 = 0x8000;
/// Common configuration.
pub const COMMON_OFFSET: u64 = 0x0000;
/// ISR status.
pub const ISR_OFFSET: u64 = 0x1000;
/// Device configuration.
pub const DEVICE_CFG_OFFSET: u64 = 0x2000;
/// Notification doorbells: queue `n` at `NOTIFY_OFFSET + n * NOTIFY_MULTIPLIER`.
pub const NOTIFY_OFFSET: u64 = 0x3000;
/// `notify_off_multiplier`: one 4-byte doorbell per queue, so an ioeventfd per queue
/// needs no datamatch.
pub const NOTIFY_MULTIPLIER: u32 = 4;
/// MSI-X table.
pub const MSIX_TABLE_OFFSET: u32 = 0x4000;
/// MSI-X pending-bit array.
pub const MSIX_PBA_OFFSET: u32 = 0x6000;
/// Most queues the layout has room for (doorbells and MSI-X vectors).
pub const MAX_QUEUES: u16 = 64;

/// The BAR.
pub const BAR: BarInfo = BarInfo {
    index: BAR_INDEX,
    size: BAR_SIZE,
    // As QEMU does: lets the BAR sit in a bridge's 64-bit (prefetchable) window.
    kind: BarKind::Memory64 { prefetchable: true },
};

/// Length of the `struct virtio_pci_cap` body after the id and next bytes.
const CAP_BODY: usize = 14;

fn cap_body(cfg_type: u8, cap_len: u8, offset: u32, length: u32) -> [u8; CAP_BODY] {
    let mut b = [0u8; CAP_BODY];
    b[0] = cap_len;
    b[1] = cfg_type;
    b[2] = BAR_INDEX;
    // b[3]: id, b[4..6]: padding.
    b[6..10].copy_from_slice(&offset.to_le_bytes());
    b[10..14].copy_from_slice(&length.to_le_bytes());
    b
}

/// The `VIRTIO_PCI_CAP_PCI_CFG` window's registers, as offsets in config space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, inspect::Inspect)]
pub struct PciCfgWindow {
    /// The capability.
    #[inspect(hex)]
    pub cap: u16,
}

impl PciCfgWindow {
    /// `bar` byte.
    pub fn bar(&self) -> u16 {
        self.cap + 4
    }
    /// `offset` dword.
    pub fn offset(&self) -> u16 {
        self.cap + 8
    }
    /// `length` dword.
    pub fn length(&self) -> u16 {
        self.cap + 12
    }
    /// `pci_cfg_data` dword.
    pub fn data(&self) -> u16 {
        self.cap + 16
    }

    /// Whether a config access of `len` bytes at `offset` touches the data dword.
    pub fn touches_data(&self, offset: u16, len: usize) -> bool {
        let start = u32::from(offset);
        let end = start + len as u32;
        let d = u32::from(self.data());
        start < d + 4 && d < end
    }

    /// The BAR access the window currently describes: `(bar offset, length)`, if
    /// valid (our BAR, length 1, 2 or 4, naturally aligned, inside the BAR).
    pub fn target(&self, config: &ConfigSpace) -> Option<(u64, usize)> {
        let bar = config.read_u8(self.bar());
        let offset = u64::from(config.read_u32(self.offset()));
        let len = config.read_u32(self.length()) as usize;
        (bar == BAR_INDEX
            && matches!(len, 1 | 2 | 4)
            && offset % len as u64 == 0
            && offset + len as u64 <= BAR_SIZE)
            .then_some((offset, len))
    }
}

/// Adds the common, notify, ISR, device and PCI-config capabilities for `num_queues`
/// queues.
pub fn add_virtio_capabilities(
    config: &mut ConfigSpace,
    num_queues: u16,
) -> Result<PciCfgWindow, ConfigSpaceFull> {
    config.add_capability(
        CAP_ID_VENDOR,
        &cap_body(
            cap::COMMON_CFG,
            16,
            COMMON_OFFSET as u32,
            COMMON_CFG_LEN as u32,
        ),
        &[0; CAP_BODY],
    )?;
    let mut notify = [0u8; CAP_BODY + 4];
    let notify_len = u32::from(num_queues) * NOTIFY_MULTIPLIER;
    notify[..CAP_BODY].copy_from_slice(&cap_body(
        cap::NOTIFY_CFG,
        20,
        NOTIFY_OFFSET as u32,
        notify_len,
    ));
    notify[CAP_BODY..].copy_from_slice(&NOTIFY_MULTIPLIER.to_le_bytes());
    config.add_capability(CAP_ID_VENDOR, &notify, &[0; CAP_BODY + 4])?;
    config.add_capability(
        CAP_ID_VENDOR,
        &cap_body(cap::ISR_CFG, 16, ISR_OFFSET as u32, 1),
        &[0; CAP_BODY],
    )?;
    config.add_capability(
        CAP_ID_VENDOR,
        &cap_body(
            cap::DEVICE_CFG,
            16,
            DEVICE_CFG_OFFSET as u32,
            DEVICE_CFG_LEN as u32,
        ),
        &[0; CAP_BODY],
    )?;
    // PCI configuration access: bar, offset, length and data are driver-writable.
    let mut pci_cfg = [0u8; CAP_BODY + 4];
    pci_cfg[..CAP_BODY].copy_from_slice(&cap_body(cap::PCI_CFG, 20, 0, 0));
    let mut wmask = [0u8; CAP_BODY + 4];
    wmask[2] = 0xff;
    wmask[6..].fill(0xff);
    let at = config.add_capability(CAP_ID_VENDOR, &pci_cfg, &wmask)?;
    Ok(PciCfgWindow { cap: at })
}
