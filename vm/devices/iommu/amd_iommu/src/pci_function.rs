//! The IOMMU as a PCI function (class 08/06/00) on its root complex's first bus: a type
//! 0 header whose capability list holds the IOMMU capability block (id 0Fh) at
//! [`CAP_OFFSET`] and the MSI capability after it. Linux finds the function through the
//! IVHD's device id and capability offset.

use crate::device::AmdIommu;
use crate::spec::pci as spec;
use parking_lot::Mutex;
use pci_core::ConfigSpace;
use pci_core::PciDevice;
use std::sync::Arc;

/// Offset of the IOMMU capability block (what the IVHD names).
pub const CAP_OFFSET: u16 = 0x40;
/// Offset of the MSI capability.
pub const MSI_OFFSET: u16 = CAP_OFFSET + spec::CAP_LEN;

/// The PCI function.
pub struct AmdIommuPciFunction {
    iommu: Arc<AmdIommu>,
    config: Mutex<ConfigSpace>,
}

impl AmdIommuPciFunction {
    /// The function of `iommu`.
    pub fn new(iommu: Arc<AmdIommu>) -> Self {
        let class = u32::from_be_bytes([
            0,
            spec::CLASS_CODE[0],
            spec::CLASS_CODE[1],
            spec::CLASS_CODE[2],
        ]);
        let mut config = ConfigSpace::endpoint(spec::VENDOR_ID, spec::DEVICE_ID, class, 0);
        config.set_u8(pci_core::spec::CAP_PTR, CAP_OFFSET as u8);
        let status = config.read_u16(pci_core::spec::STATUS) | pci_core::spec::STATUS_CAP_LIST;
        config.set_u16(pci_core::spec::STATUS, status);
        Self {
            iommu,
            config: Mutex::new(config),
        }
    }

    fn read_byte(&self, offset: u16) -> u8 {
        let mut b = [0u8; 1];
        if (CAP_OFFSET..MSI_OFFSET).contains(&offset) {
            if offset == CAP_OFFSET + 1 {
                return MSI_OFFSET as u8;
            }
            self.iommu.iommu_cap_read(offset - CAP_OFFSET, &mut b);
        } else if (MSI_OFFSET..MSI_OFFSET + spec::MSI_CAP_LEN).contains(&offset) {
            self.iommu.msi_cap_read(offset - MSI_OFFSET, &mut b);
        } else {
            b[0] = self.config.lock().read(offset, 1) as u8;
        }
        b[0]
    }
}

impl PciDevice for AmdIommuPciFunction {
    fn name(&self) -> &str {
        "amd-iommu"
    }

    fn config_read(&self, offset: u16, len: usize) -> u32 {
        if len > 4 || offset as usize + len > pci_core::spec::CONFIG_SPACE_SIZE {
            return u32::MAX;
        }
        let mut v = [0u8; 4];
        for (i, b) in v.iter_mut().enumerate().take(len) {
            *b = self.read_byte(offset + i as u16);
        }
        u32::from_le_bytes(v)
    }

    fn config_write(&self, offset: u16, len: usize, value: u32) {
        if len > 4 || offset as usize + len > pci_core::spec::CONFIG_SPACE_SIZE {
            return;
        }
        let bytes = value.to_le_bytes();
        let end = offset + len as u16;
        if offset >= CAP_OFFSET && end <= MSI_OFFSET {
            self.iommu
                .iommu_cap_write(offset - CAP_OFFSET, &bytes[..len]);
        } else if offset >= MSI_OFFSET && end <= MSI_OFFSET + spec::MSI_CAP_LEN {
            self.iommu.msi_cap_write(offset - MSI_OFFSET, &bytes[..len]);
        } else if end <= CAP_OFFSET || offset >= MSI_OFFSET + spec::MSI_CAP_LEN {
            self.config.lock().write(offset, len, value);
        }
    }

    fn bars(&self) -> Vec<pci_core::BarInfo> {
        Vec::new()
    }

    fn bar_read(&self, _bar: u8, _offset: u64, data: &mut [u8]) {
        data.fill(0xff);
    }

    fn bar_write(&self, _bar: u8, _offset: u64, _data: &[u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::AmdIommuConfig;
    use guestmem::GuestMemory;
    use iommu_common::MsiMessage;
    use iommu_common::MsiSink;

    struct NoMsi;
    impl MsiSink for NoMsi {
        fn signal_msi(&self, _msg: MsiMessage) {}
    }

    #[test]
    fn capability_chain() {
        let iommu = AmdIommu::new(
            AmdIommuConfig {
                intremap: true,
                xtsup: true,
                segment: 0,
                iommu_bdf: 0x0002,
            },
            GuestMemory::new(&[(0, 1 << 20)]).unwrap(),
            Arc::new(NoMsi),
        );
        iommu.set_mmio_base(0xfed8_0000);
        let f = AmdIommuPciFunction::new(iommu);
        assert_eq!(f.config_read(0, 2), spec::VENDOR_ID as u32);
        assert_eq!(f.config_read(0x0a, 2), 0x0806);
        assert_eq!(f.config_read(pci_core::spec::CAP_PTR, 1), CAP_OFFSET as u32);
        assert_eq!(f.config_read(CAP_OFFSET, 1), spec::CAP_ID as u32);
        assert_eq!(f.config_read(CAP_OFFSET + 1, 1), MSI_OFFSET as u32);
        assert_eq!(f.config_read(MSI_OFFSET, 1), spec::MSI_CAP_ID as u32);
        assert_eq!(f.config_read(MSI_OFFSET + 1, 1), 0);
        assert_eq!(f.config_read(CAP_OFFSET + 4, 4) & !0x3fff, 0xfed8_0000);
        // Hostile accesses.
        f.config_write(CAP_OFFSET + 0x16, 4, u32::MAX);
        assert_eq!(f.config_read(0xfff, 4), u32::MAX);
    }
}
