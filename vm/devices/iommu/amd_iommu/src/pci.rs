//! The PCI side (#48882 §3.2): the IOMMU capability block and the MSI capability, as
//! byte-addressed images the lead's configuration-space model hosts. Next-capability
//! pointers (header byte 1) read as zero here; the host fills them in.

use crate::spec::pci::*;
use crate::state::State;

/// The requester id the IOAPIC's interrupts carry (00:14.0, the southbridge
/// IOAPIC id Linux expects in the IVRS special-device entry).
pub const IOAPIC_REQUESTER_BDF: u16 = 0x00a0;

impl State {
    /// The IOMMU capability header (#48882 §3.2.2.1): id 0Fh, CapType 3, CapRev 1,
    /// EFRSup and CapExt. IotlbSup, HtTunnel and NpCache are clear: there is no
    /// device IOTLB support and nothing not-present is cached.
    fn cap_dword(&self, index: u16) -> u32 {
        match index * 4 {
            CAP_HEADER => u32::from(CAP_ID) | CAP_TYPE | CAP_REV | CAP_EFR_SUP | CAP_EXT,
            CAP_BASE_LO => self.pci.base_lo,
            CAP_BASE_HI => self.pci.base_hi,
            CAP_RANGE => {
                // UnitID 0, RngValid = 0 (the IVRS is authoritative), the IOMMU's
                // own bus, devices 00.0 to 1f.7.
                let bus = u32::from(self.config.iommu_bdf >> 8);
                (bus << 8) | (0xff << 24)
            }
            CAP_MISC0 => {
                // MsiNum 0; 48-bit physical, 64-bit virtual addresses.
                (48 << MISC0_PA_SIZE_SHIFT) | (64 << MISC0_VA_SIZE_SHIFT)
            }
            _ => 0,
        }
    }

    /// Reads the IOMMU capability block at `offset`.
    pub fn iommu_cap_read(&self, offset: u16, data: &mut [u8]) {
        read_image(offset, data, CAP_LEN, |i| self.cap_dword(i));
    }

    /// Writes the IOMMU capability block: only the base address registers are
    /// writable (firmware programs them; Linux reads them).
    pub fn iommu_cap_write(&mut self, offset: u16, data: &[u8]) {
        write_image(offset, data, CAP_LEN, |i, value, mask| match i * 4 {
            CAP_BASE_LO => {
                let w = BASE_LO_MASK | BASE_ENABLE;
                self.pci.base_lo = (self.pci.base_lo & !(mask & w)) | (value & mask & w);
            }
            CAP_BASE_HI => {
                self.pci.base_hi = (self.pci.base_hi & !mask) | (value & mask);
            }
            _ => {}
        });
    }

    fn msi_dword(&self, index: u16) -> u32 {
        match index {
            0 => u32::from(MSI_CAP_ID) | (u32::from(self.pci.msi_control | MSI_CTRL_64BIT) << 16),
            1 => self.pci.msi_address as u32,
            2 => (self.pci.msi_address >> 32) as u32,
            3 => u32::from(self.pci.msi_data),
            _ => 0,
        }
    }

    /// Reads the MSI capability (64-bit address, one vector, no masking).
    pub fn msi_cap_read(&self, offset: u16, data: &mut [u8]) {
        read_image(offset, data, MSI_CAP_LEN, |i| self.msi_dword(i));
    }

    /// Writes the MSI capability.
    pub fn msi_cap_write(&mut self, offset: u16, data: &[u8]) {
        write_image(offset, data, MSI_CAP_LEN, |i, value, mask| match i {
            0 => {
                let ctrl_mask = (mask >> 16) as u16 & MSI_CTRL_ENABLE;
                let v = (value >> 16) as u16;
                self.pci.msi_control = (self.pci.msi_control & !ctrl_mask) | (v & ctrl_mask);
            }
            1 => {
                let lo = self.pci.msi_address as u32 & !mask | (value & mask & !3);
                self.pci.msi_address = (self.pci.msi_address & !0xffff_ffff) | u64::from(lo);
            }
            2 => {
                let hi = (self.pci.msi_address >> 32) as u32 & !mask | (value & mask);
                self.pci.msi_address = (self.pci.msi_address & 0xffff_ffff) | (u64::from(hi) << 32);
            }
            3 => {
                let m = mask as u16;
                self.pci.msi_data = (self.pci.msi_data & !m) | (value as u16 & m);
            }
            _ => {}
        });
    }
}

/// Reads `data.len()` bytes at `offset` of an image of `len` bytes built from dwords.
fn read_image(offset: u16, data: &mut [u8], len: u16, dword: impl Fn(u16) -> u32) {
    for (i, b) in data.iter_mut().enumerate() {
        let at = usize::from(offset) + i;
        *b = if at < usize::from(len) {
            let at = at as u16;
            (dword(at / 4) >> ((at % 4) * 8)) as u8
        } else {
            0
        };
    }
}

/// Splits a write into per-dword (index, value, byte mask) updates.
fn write_image(offset: u16, data: &[u8], len: u16, mut f: impl FnMut(u16, u32, u32)) {
    for (i, &b) in data.iter().enumerate() {
        let at = usize::from(offset) + i;
        if at >= usize::from(len) {
            break;
        }
        let at = at as u16;
        let shift = (at % 4) * 8;
        f(at / 4, u32::from(b) << shift, 0xff << shift);
    }
}

#[cfg(test)]
mod tests {
    use crate::device::AmdIommuConfig;
    use crate::spec::pci::*;
    use crate::state::State;
    use guestmem::GuestMemory;

    fn state() -> State {
        State::new(
            AmdIommuConfig {
                intremap: true,
                xtsup: true,
                segment: 0,
                iommu_bdf: 0x0010,
            },
            GuestMemory::new(&[(0, 0x1000)]).unwrap(),
        )
    }

    fn read32(s: &State, f: fn(&State, u16, &mut [u8]), off: u16) -> u32 {
        let mut b = [0; 4];
        f(s, off, &mut b);
        u32::from_le_bytes(b)
    }

    #[test]
    fn capability_header_and_base() {
        let mut s = state();
        let hdr = read32(&s, State::iommu_cap_read, CAP_HEADER);
        assert_eq!(hdr & 0xff, 0x0f);
        assert_eq!((hdr >> 16) & 7, 3, "CapType");
        assert_eq!((hdr >> 19) & 0x1f, 1, "CapRev");
        assert_ne!(hdr & CAP_EFR_SUP, 0, "EFRSup");
        assert_eq!(hdr & CAP_NP_CACHE, 0, "no NpCache: Linux may stay lazy");
        assert_eq!(hdr & CAP_IOTLB_SUP, 0);
        s.iommu_cap_write(CAP_BASE_LO, &0xfeb8_3fffu32.to_le_bytes());
        s.iommu_cap_write(CAP_BASE_HI, &1u32.to_le_bytes());
        assert_eq!(read32(&s, State::iommu_cap_read, CAP_BASE_LO), 0xfeb8_0001);
        assert_eq!(read32(&s, State::iommu_cap_read, CAP_BASE_HI), 1);
        // Header and misc are read-only.
        s.iommu_cap_write(CAP_HEADER, &0u32.to_le_bytes());
        assert_eq!(read32(&s, State::iommu_cap_read, CAP_HEADER), hdr);
        let misc = read32(&s, State::iommu_cap_read, CAP_MISC0);
        assert_eq!((misc >> 8) & 0x7f, 48);
        assert_eq!((misc >> 15) & 0x7f, 64);
        // Past the block: zero.
        assert_eq!(read32(&s, State::iommu_cap_read, CAP_LEN), 0);
    }

    #[test]
    fn msi_capability() {
        let mut s = state();
        let hdr = read32(&s, State::msi_cap_read, 0);
        assert_eq!(hdr & 0xff, 0x05);
        assert_eq!(hdr >> 16, u32::from(MSI_CTRL_64BIT));
        s.msi_cap_write(4, &0xfee0_1003u32.to_le_bytes());
        s.msi_cap_write(8, &0u32.to_le_bytes());
        s.msi_cap_write(12, &0x4041u16.to_le_bytes());
        assert!(s.interrupt_message().is_none(), "MSI disabled");
        // Byte write of the control word's low byte.
        s.msi_cap_write(2, &[1]);
        let m = s.interrupt_message().unwrap();
        assert_eq!(m.address, 0xfee0_1000, "low two address bits are reserved");
        assert_eq!(m.data, 0x4041);
        assert_eq!(read32(&s, State::msi_cap_read, 0) >> 16, 0x81);
    }
}
