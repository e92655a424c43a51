//! PCI configuration mechanism #1 (ports 0xCF8/0xCFC, PCI 3.0 §3.2.2.3.2) for segment 0.
//!
//! Linux probes it before ACPI is up; with it, early boot finds PCI without complaint.
//! It reaches the same root complexes as ECAM (regular configuration space only).

use crate::root_complex::RootComplex;
use device_bus::BusDevice;
use parking_lot::Mutex;
use std::sync::Arc;

/// The address port.
pub const CONF1_ADDRESS_PORT: u16 = 0xcf8;
/// The ports 0xCF8..0xD00.
pub const CONF1_PORTS: u64 = 8;

const ENABLE: u32 = 1 << 31;

/// The mechanism #1 ports.
pub struct Conf1 {
    address: Mutex<u32>,
    roots: Vec<Arc<RootComplex>>,
}

impl Conf1 {
    /// Ports reaching the segment 0 root complexes among `roots`.
    pub fn new(roots: &[Arc<RootComplex>]) -> Self {
        Self {
            address: Mutex::new(0),
            roots: roots
                .iter()
                .filter(|r| r.config().segment == 0)
                .cloned()
                .collect(),
        }
    }

    /// The root complex and ECAM offset the address register selects.
    fn target(&self, byte: u64) -> Option<(&Arc<RootComplex>, u64)> {
        let address = *self.address.lock();
        if address & ENABLE == 0 {
            return None;
        }
        let bus = (address >> 16) as u8;
        let devfn = (address >> 8) as u8;
        let reg = (address & 0xfc) as u64 + byte;
        let root = self
            .roots
            .iter()
            .find(|r| (r.config().start_bus..=r.config().end_bus).contains(&bus))?;
        let offset = ((bus - root.config().start_bus) as u64) << 20 | (devfn as u64) << 12 | reg;
        Some((root, offset))
    }
}

impl BusDevice for Conf1 {
    fn read(&self, offset: u64, data: &mut [u8]) {
        match offset {
            0 if data.len() == 4 => data.copy_from_slice(&self.address.lock().to_le_bytes()),
            4..=7 => match self.target(offset - 4) {
                Some((root, off)) if (offset - 4) % data.len() as u64 == 0 => root.read(off, data),
                _ => data.fill(0xff),
            },
            _ => data.fill(0xff),
        }
    }

    fn write(&self, offset: u64, data: &[u8]) {
        match offset {
            0 if data.len() == 4 => {
                *self.address.lock() = u32::from_le_bytes(data.try_into().unwrap()) & 0x80ff_fffc
            }
            4..=7 => {
                if let Some((root, off)) = self.target(offset - 4) {
                    if (offset - 4) % data.len() as u64 == 0 {
                        root.write(off, data)
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root_complex::RootComplexConfig;
    use crate::spec;
    use device_bus::Bus;

    #[test]
    fn reads_through_to_root_complex() {
        let rc = RootComplex::new(
            RootComplexConfig {
                name: "rc0".into(),
                segment: 0,
                start_bus: 0,
                end_bus: 3,
                ecam_base: 0xe000_0000,
                low_mmio: (0xc000_0000, 1 << 20),
                high_mmio: (1 << 36, 1 << 30),
            },
            &[],
            Arc::new(Bus::new()),
        );
        let c = Conf1::new(&[rc]);
        let mut d = [0u8; 4];
        c.read(4, &mut d);
        assert_eq!(d, [0xff; 4]);
        c.write(0, &ENABLE.to_le_bytes());
        c.read(4, &mut d);
        assert_eq!(u16::from_le_bytes([d[0], d[1]]), spec::VENDOR_ID);
        let mut w = [0u8; 2];
        c.read(6, &mut w);
        assert_eq!(u16::from_le_bytes(w), 0xc0a0);
        // Bus 9 is outside every root complex; byte reads and odd sizes are harmless.
        c.write(0, &(ENABLE | 9 << 16).to_le_bytes());
        c.read(4, &mut d);
        assert_eq!(d, [0xff; 4]);
        c.write(0, &[1]);
        c.read(5, &mut w);
    }
}
