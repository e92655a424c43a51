//! A PCI Express root port: a type 1 bridge with a PCIe capability (root port type,
//! one slot) and an ACS capability whose advertised bits are configurable.

use crate::config_space::ConfigSpace;
use crate::spec;

/// Device id of this VMM's root ports.
pub const ROOT_PORT_DEVICE_ID: u16 = 0xc0a1;

/// A root port's configuration space.
pub struct RootPortConfig {
    /// The type 1 header and capabilities.
    pub config: ConfigSpace,
    /// Offset of the PCIe capability.
    pub pcie_cap: u16,
}

impl RootPortConfig {
    /// A root port in physical slot `slot`, advertising `acs` capabilities.
    pub fn new(slot: u16, acs: u16) -> Self {
        let mut config = ConfigSpace::bridge(spec::VENDOR_ID, ROOT_PORT_DEVICE_ID);
        let pcie_cap = config
            .add_pcie_capability(spec::PCIE_TYPE_ROOT_PORT, Some(slot))
            .expect("fresh config space has room");
        config
            .add_acs_capability(acs)
            .expect("fresh config space has room");
        Self { config, pcie_cap }
    }

    /// The secondary bus number the guest assigned.
    pub fn secondary_bus(&self) -> u8 {
        self.config.read_u8(spec::SECONDARY_BUS)
    }

    /// The subordinate bus number the guest assigned.
    pub fn subordinate_bus(&self) -> u8 {
        self.config.read_u8(spec::SUBORDINATE_BUS)
    }

    /// Whether the port forwards configuration cycles for `bus` (it has a secondary bus
    /// assigned and `bus` is it).
    pub fn forwards(&self, bus: u8) -> bool {
        let secondary = self.secondary_bus();
        secondary != 0 && bus == secondary
    }

    /// Reflects whether a device sits in the slot.
    pub fn set_presence(&mut self, present: bool) {
        self.config.set_pcie_presence(self.pcie_cap, present);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acs_and_pcie() {
        let mut rp = RootPortConfig::new(1, spec::ACS_SV | spec::ACS_RR);
        assert_eq!(rp.config.read_u16(spec::CLASS_REVISION + 2), 0x0604);
        assert_eq!(rp.config.read_u16(0x104), spec::ACS_SV | spec::ACS_RR);
        rp.config.write(0x106, 2, 0xffff);
        assert_eq!(rp.config.read_u16(0x106), spec::ACS_SV | spec::ACS_RR);
        assert!(!rp.forwards(0));
        rp.config.write(spec::SECONDARY_BUS, 1, 3);
        assert!(rp.forwards(3));
        rp.set_presence(true);
        assert_ne!(rp.config.read_u16(rp.pcie_cap + 0x1a) & (1 << 6), 0);
    }
}
