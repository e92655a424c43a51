//! Base address registers: layout, sizing (writable bits above the size only) and
//! decoding the address the guest assigned.

use crate::config_space::ConfigSpace;
use crate::spec;

/// What a BAR decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// 32-bit memory.
    Memory32,
    /// 64-bit memory (uses two BAR slots).
    Memory64 {
        /// Prefetchable.
        prefetchable: bool,
    },
}

/// A BAR a device implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarInfo {
    /// BAR index (0..6).
    pub index: u8,
    /// Size in bytes (a power of two, at least 4 KiB here).
    pub size: u64,
    /// Decode kind.
    pub kind: BarKind,
}

impl BarInfo {
    /// Lays the BAR out in `config`: type bits read-only, address bits above the size
    /// writable (so writing all-ones reads back the size mask).
    pub fn install(&self, config: &mut ConfigSpace) {
        assert!(self.size.is_power_of_two() && self.size >= 16, "BAR size");
        let off = spec::BAR0 + 4 * self.index as u16;
        let mask = !(self.size - 1);
        match self.kind {
            BarKind::Memory32 => {
                config.set_u32(off, 0);
                config.set_writable_u32(off, mask as u32 & !0xf);
            }
            BarKind::Memory64 { prefetchable } => {
                config.set_u32(off, 0x4 | if prefetchable { 0x8 } else { 0 });
                config.set_writable_u32(off, mask as u32 & !0xf);
                config.set_u32(off + 4, 0);
                config.set_writable_u32(off + 4, (mask >> 32) as u32);
            }
        }
    }

    /// The address the guest assigned (whether or not decoding is enabled).
    pub fn address(&self, config: &ConfigSpace) -> u64 {
        let off = spec::BAR0 + 4 * self.index as u16;
        let low = (config.read_u32(off) & !0xf) as u64;
        match self.kind {
            BarKind::Memory32 => low,
            BarKind::Memory64 { .. } => low | (config.read_u32(off + 4) as u64) << 32,
        }
    }

    /// Whether the BAR decodes now: memory enabled, an address assigned, and the whole
    /// range below the top of the address space.
    pub fn mapped_at(&self, config: &ConfigSpace) -> Option<u64> {
        let enabled = config.read_u16(spec::COMMAND) & spec::COMMAND_MEMORY != 0;
        let addr = self.address(config);
        (enabled && addr != 0 && addr.checked_add(self.size).is_some()).then_some(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_and_decode() {
        let mut c = ConfigSpace::endpoint(0x1414, 1, 0, 1);
        let bar = BarInfo {
            index: 0,
            size: 0x4000,
            kind: BarKind::Memory64 {
                prefetchable: false,
            },
        };
        bar.install(&mut c);
        c.write(spec::BAR0, 4, u32::MAX);
        c.write(spec::BAR0 + 4, 4, u32::MAX);
        assert_eq!(c.read(spec::BAR0, 4), 0xffff_c004);
        assert_eq!(c.read(spec::BAR0 + 4, 4), u32::MAX);
        c.write(spec::BAR0, 4, 0xfe00_0000);
        c.write(spec::BAR0 + 4, 4, 0x1);
        assert_eq!(bar.address(&c), 0x1_fe00_0000);
        assert_eq!(bar.mapped_at(&c), None);
        c.write(spec::COMMAND, 2, spec::COMMAND_MEMORY as u32);
        assert_eq!(bar.mapped_at(&c), Some(0x1_fe00_0000));
        // An address whose range wraps is never mapped.
        c.write(spec::BAR0, 4, 0xffff_c000);
        c.write(spec::BAR0 + 4, 4, u32::MAX);
        assert_eq!(bar.mapped_at(&c), None);
    }
}
