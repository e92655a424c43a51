//! PCI requester identity.

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use std::fmt;

/// A PCI requester: segment (PCI domain) plus bus/device/function, as carried in the
/// requester ID of every transaction (PCI Express Base Specification, 2.2.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RequesterId {
    /// PCI segment group.
    pub segment: u16,
    /// Bus (bits 15:8), device (7:3), function (2:0).
    pub bdf: u16,
}

impl RequesterId {
    /// A requester from its segment and 16-bit BDF.
    pub const fn new(segment: u16, bdf: u16) -> Self {
        Self { segment, bdf }
    }

    /// A requester from its segment and the bus, device and function numbers.
    /// `device` is truncated to 5 bits and `function` to 3 bits.
    pub const fn from_parts(segment: u16, bus: u8, device: u8, function: u8) -> Self {
        Self {
            segment,
            bdf: ((bus as u16) << 8) | (((device & 0x1f) as u16) << 3) | (function & 7) as u16,
        }
    }

    /// Bus number.
    pub const fn bus(&self) -> u8 {
        (self.bdf >> 8) as u8
    }

    /// Device number.
    pub const fn device(&self) -> u8 {
        ((self.bdf >> 3) & 0x1f) as u8
    }

    /// Function number.
    pub const fn function(&self) -> u8 {
        (self.bdf & 7) as u8
    }

    /// `(segment << 16) | bdf`: the GICv3 ITS device id this VMM assigns, and a handy
    /// unique 32-bit key.
    pub const fn segment_rid(&self) -> u32 {
        ((self.segment as u32) << 16) | self.bdf as u32
    }
}

impl fmt::Display for RequesterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{}",
            self.segment,
            self.bus(),
            self.device(),
            self.function()
        )
    }
}

/// A function's requester id, which changes when the guest renumbers the bus its port
/// forwards to. Read it at the time of each DMA or MSI programming.
#[derive(Clone, Debug)]
pub struct RequesterIdCell(Arc<AtomicU32>);

impl RequesterIdCell {
    /// A cell for `segment`, bus 0, `devfn`.
    pub fn new(segment: u16, bdf: u16) -> Self {
        Self(Arc::new(AtomicU32::new(
            ((segment as u32) << 16) | bdf as u32,
        )))
    }

    /// The current requester id.
    pub fn get(&self) -> RequesterId {
        let v = self.0.load(Ordering::Acquire);
        RequesterId::new((v >> 16) as u16, v as u16)
    }

    /// Changes the bus number (keeping segment and devfn).
    pub fn set_bus(&self, bus: u8) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some((v & 0xffff_00ff) | ((bus as u32) << 8))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rid_cell_follows_bus() {
        let rid = RequesterIdCell::new(1, 0x0008);
        assert_eq!(rid.get(), RequesterId::new(1, 0x0008));
        rid.set_bus(5);
        assert_eq!(rid.get(), RequesterId::new(1, 0x0508));
    }

    #[test]
    fn parts_round_trip() {
        let r = RequesterId::from_parts(2, 0x3a, 0x1f, 7);
        assert_eq!((r.bus(), r.device(), r.function()), (0x3a, 0x1f, 7));
        assert_eq!(r.bdf, 0x3aff);
        assert_eq!(r.segment_rid(), 0x0002_3aff);
        assert_eq!(r.to_string(), "0002:3a:1f.7");
    }

    #[test]
    fn from_parts_truncates() {
        let r = RequesterId::from_parts(0, 1, 0xff, 0xff);
        assert_eq!(r.device(), 0x1f);
        assert_eq!(r.function(), 7);
    }
}
