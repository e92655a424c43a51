//! A function's 4 KiB configuration space with per-bit write semantics: read-only,
//! read-write and write-1-to-clear, plus builders for the header and capability lists.

use crate::spec;

/// One function's configuration space.
#[derive(Clone)]
pub struct ConfigSpace {
    data: Box<[u8; spec::CONFIG_SPACE_SIZE]>,
    writable: Box<[u8; spec::CONFIG_SPACE_SIZE]>,
    write_one_to_clear: Box<[u8; spec::CONFIG_SPACE_SIZE]>,
    last_cap: Option<u16>,
    next_cap: u16,
    last_ext_cap: Option<u16>,
    next_ext_cap: u16,
}

impl std::fmt::Debug for ConfigSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSpace")
            .field("vendor", &self.read_u16(spec::VENDOR))
            .field("device", &self.read_u16(spec::DEVICE))
            .finish()
    }
}

/// Error building a configuration space (a device-model bug, never guest input).
#[derive(Debug, thiserror::Error)]
#[error("configuration space full: no room for a {0}-byte capability")]
pub struct ConfigSpaceFull(pub usize);

impl ConfigSpace {
    fn empty() -> Self {
        Self {
            data: Box::new([0; spec::CONFIG_SPACE_SIZE]),
            writable: Box::new([0; spec::CONFIG_SPACE_SIZE]),
            write_one_to_clear: Box::new([0; spec::CONFIG_SPACE_SIZE]),
            last_cap: None,
            next_cap: 0x40,
            last_ext_cap: None,
            next_ext_cap: spec::EXT_CAP_START,
        }
    }

    fn common(vendor: u16, device: u16, class: u32, revision: u8, header_type: u8) -> Self {
        let mut c = Self::empty();
        c.set_u16(spec::VENDOR, vendor);
        c.set_u16(spec::DEVICE, device);
        c.set_u32(spec::CLASS_REVISION, (class << 8) | revision as u32);
        c.set_u8(spec::HEADER_TYPE, header_type);
        c.set_writable_u16(
            spec::COMMAND,
            spec::COMMAND_IO
                | spec::COMMAND_MEMORY
                | spec::COMMAND_BUS_MASTER
                | spec::COMMAND_SERR
                | spec::COMMAND_INTX_DISABLE,
        );
        // Status error bits are RW1C (PCI 3.0 §6.2.3).
        c.set_w1c_u16(spec::STATUS, 0xf900);
        c.set_writable_u8(spec::INTERRUPT_LINE, 0xff);
        c
    }

    /// A type 0 (endpoint) header.
    pub fn endpoint(vendor: u16, device: u16, class: u32, subsystem: u16) -> Self {
        let mut c = Self::common(vendor, device, class, 1, 0);
        c.set_u16(spec::SUBSYSTEM_VENDOR, vendor);
        c.set_u16(spec::SUBSYSTEM, subsystem);
        c
    }

    /// A type 1 (bridge) header with writable bus numbers and forwarding windows.
    pub fn bridge(vendor: u16, device: u16) -> Self {
        let mut c = Self::common(vendor, device, spec::CLASS_BRIDGE_PCI, 0, 1);
        c.set_writable_u8(spec::PRIMARY_BUS, 0xff);
        c.set_writable_u8(spec::SECONDARY_BUS, 0xff);
        c.set_writable_u8(spec::SUBORDINATE_BUS, 0xff);
        // No I/O window (no port I/O behind root ports): I/O base/limit read as zero.
        c.set_w1c_u16(spec::IO_BASE + 2, 0xf900);
        c.set_writable_u32(spec::MEMORY_BASE, 0xfff0_fff0);
        // Prefetchable window: 64-bit capable.
        c.set_u32(spec::PREF_MEMORY_BASE, 0x0001_0001);
        c.set_writable_u32(spec::PREF_MEMORY_BASE, 0xfff0_fff0);
        c.set_writable_u32(spec::PREF_BASE_UPPER, 0xffff_ffff);
        c.set_writable_u32(spec::PREF_LIMIT_UPPER, 0xffff_ffff);
        c.set_writable_u16(spec::BRIDGE_CONTROL, 0x0fff);
        c
    }

    fn range_ok(offset: u16, len: usize) -> bool {
        (offset as usize)
            .checked_add(len)
            .is_some_and(|end| end <= spec::CONFIG_SPACE_SIZE)
    }

    /// Guest read of `len` (1, 2 or 4) bytes; out-of-range reads are all-ones.
    pub fn read(&self, offset: u16, len: usize) -> u32 {
        if !Self::range_ok(offset, len) || len > 4 {
            return u32::MAX;
        }
        let mut v = [0u8; 4];
        v[..len].copy_from_slice(&self.data[offset as usize..offset as usize + len]);
        u32::from_le_bytes(v)
    }

    /// Guest write honouring RO/RW/RW1C bits; returns the bytes' previous value.
    pub fn write(&mut self, offset: u16, len: usize, value: u32) -> u32 {
        let old = self.read(offset, len);
        if !Self::range_ok(offset, len) || len > 4 {
            return old;
        }
        let bytes = value.to_le_bytes();
        for (i, &b) in bytes.iter().enumerate().take(len) {
            let at = offset as usize + i;
            let rw = self.writable[at];
            let w1c = self.write_one_to_clear[at];
            let cur = self.data[at];
            self.data[at] = (cur & !rw) | (b & rw);
            self.data[at] &= !(b & w1c);
        }
        old
    }

    /// Device-side byte write (ignores masks).
    pub fn set_u8(&mut self, offset: u16, v: u8) {
        self.data[offset as usize] = v;
    }

    /// Device-side 16-bit write.
    pub fn set_u16(&mut self, offset: u16, v: u16) {
        self.set_bytes(offset, &v.to_le_bytes());
    }

    /// Device-side 32-bit write.
    pub fn set_u32(&mut self, offset: u16, v: u32) {
        self.set_bytes(offset, &v.to_le_bytes());
    }

    /// Device-side write of bytes.
    pub fn set_bytes(&mut self, offset: u16, bytes: &[u8]) {
        self.data[offset as usize..offset as usize + bytes.len()].copy_from_slice(bytes);
    }

    /// Device-side read of a byte.
    pub fn read_u8(&self, offset: u16) -> u8 {
        self.data[offset as usize]
    }

    /// Device-side read of 16 bits.
    pub fn read_u16(&self, offset: u16) -> u16 {
        self.read(offset, 2) as u16
    }

    /// Device-side read of 32 bits.
    pub fn read_u32(&self, offset: u16) -> u32 {
        self.read(offset, 4)
    }

    fn set_mask(mask: &mut [u8], offset: u16, bytes: &[u8]) {
        mask[offset as usize..offset as usize + bytes.len()].copy_from_slice(bytes);
    }

    /// Marks bits of a byte guest-writable.
    pub fn set_writable_u8(&mut self, offset: u16, mask: u8) {
        Self::set_mask(&mut self.writable[..], offset, &[mask]);
    }

    /// Marks bits of a 16-bit register guest-writable.
    pub fn set_writable_u16(&mut self, offset: u16, mask: u16) {
        Self::set_mask(&mut self.writable[..], offset, &mask.to_le_bytes());
    }

    /// Marks bits of a 32-bit register guest-writable.
    pub fn set_writable_u32(&mut self, offset: u16, mask: u32) {
        Self::set_mask(&mut self.writable[..], offset, &mask.to_le_bytes());
    }

    /// Marks bits of a 16-bit register write-1-to-clear.
    pub fn set_w1c_u16(&mut self, offset: u16, mask: u16) {
        Self::set_mask(
            &mut self.write_one_to_clear[..],
            offset,
            &mask.to_le_bytes(),
        );
    }

    /// Appends a standard capability (`body` follows the id/next bytes) and returns its
    /// offset; `writable` masks cover the body.
    pub fn add_capability(
        &mut self,
        id: u8,
        body: &[u8],
        writable: &[u8],
    ) -> Result<u16, ConfigSpaceFull> {
        let len = (2 + body.len() + 3) & !3;
        let at = self.next_cap;
        if at as usize + len > 0x100 {
            return Err(ConfigSpaceFull(len));
        }
        self.set_u8(at, id);
        self.set_u8(at + 1, 0);
        self.set_bytes(at + 2, body);
        Self::set_mask(&mut self.writable[..], at + 2, writable);
        match self.last_cap {
            Some(prev) => self.set_u8(prev + 1, at as u8),
            None => {
                self.set_u8(spec::CAP_PTR, at as u8);
                let status = self.read_u16(spec::STATUS) | spec::STATUS_CAP_LIST;
                self.set_u16(spec::STATUS, status);
            }
        }
        self.last_cap = Some(at);
        self.next_cap = at + len as u16;
        Ok(at)
    }

    /// Appends an extended capability (`body` follows the 4-byte header) and returns its
    /// offset; `writable` masks cover the body.
    pub fn add_ext_capability(
        &mut self,
        id: u16,
        version: u8,
        body: &[u8],
        writable: &[u8],
    ) -> Result<u16, ConfigSpaceFull> {
        let len = (4 + body.len() + 3) & !3;
        let at = self.next_ext_cap;
        if at as usize + len > spec::CONFIG_SPACE_SIZE {
            return Err(ConfigSpaceFull(len));
        }
        self.set_u32(at, id as u32 | ((version as u32 & 0xf) << 16));
        self.set_bytes(at + 4, body);
        Self::set_mask(&mut self.writable[..], at + 4, writable);
        if let Some(prev) = self.last_ext_cap {
            let header = self.read_u32(prev) | ((at as u32) << 20);
            self.set_u32(prev, header);
        }
        self.last_ext_cap = Some(at);
        self.next_ext_cap = at + len as u16;
        Ok(at)
    }

    /// Adds a PCI Express capability (version 2) of `port_type`; returns its offset.
    pub fn add_pcie_capability(
        &mut self,
        port_type: u16,
        slot: Option<u16>,
    ) -> Result<u16, ConfigSpaceFull> {
        let mut body = [0u8; 0x3a];
        let mut wmask = [0u8; 0x3a];
        // Offsets below are relative to the capability start; body starts at +2.
        // `reg` is the register's offset within the capability; the body starts at +2.
        let put16 = |b: &mut [u8; 0x3a], reg: usize, v: u16| {
            b[reg - 2..reg].copy_from_slice(&v.to_le_bytes());
        };
        let caps = 2 | (port_type << 4) | if slot.is_some() { 1 << 8 } else { 0 };
        put16(&mut body, 0x2, caps);
        // Device capabilities: 256-byte max payload, role-based error reporting.
        body[0x4 - 2..0x8 - 2].copy_from_slice(&(1u32 | (1 << 15)).to_le_bytes());
        // Device control: writable (max payload / read request, error enables).
        put16(&mut wmask, 0x8, 0x7fff);
        // Link capabilities: 8 GT/s, x16, ASPM none, DLL link active reporting, port 0.
        let link_caps: u32 = 3 | (16 << 4) | (1 << 20);
        body[0xc - 2..0x10 - 2].copy_from_slice(&link_caps.to_le_bytes());
        put16(&mut wmask, 0x10, 0x0fff);
        // Link status: 8 GT/s x16, data link layer link active.
        put16(&mut body, 0x12, 3 | (16 << 4) | (1 << 13));
        if let Some(slot) = slot {
            // Slot capabilities: physical slot number, no hot-plug.
            let slot_caps: u32 = (slot as u32) << 19;
            body[0x14 - 2..0x18 - 2].copy_from_slice(&slot_caps.to_le_bytes());
            put16(&mut wmask, 0x18, 0x1fff);
        }
        // Device capabilities 2: completion timeout ranges, ARI not supported.
        body[0x24 - 2..0x28 - 2].copy_from_slice(&0x1fu32.to_le_bytes());
        put16(&mut wmask, 0x28, 0x043f);
        // Link capabilities 2: supported speeds 2.5/5/8 GT/s.
        body[0x2c - 2..0x30 - 2].copy_from_slice(&0x0eu32.to_le_bytes());
        put16(&mut wmask, 0x30, 0x0fff);
        let at = self.add_capability(spec::CAP_ID_PCIE, &body, &wmask)?;
        Ok(at)
    }

    /// Sets the slot status presence-detect bit of a PCIe capability at `cap`.
    pub fn set_pcie_presence(&mut self, cap: u16, present: bool) {
        let off = cap + 0x1a;
        let mut status = self.read_u16(off);
        status = if present {
            status | (1 << 6)
        } else {
            status & !(1 << 6)
        };
        self.set_u16(off, status);
    }

    /// Adds an ACS extended capability advertising `capabilities` (its control bits
    /// writable for exactly those); returns its offset.
    pub fn add_acs_capability(&mut self, capabilities: u16) -> Result<u16, ConfigSpaceFull> {
        let caps = capabilities & 0x7f;
        let mut body = [0u8; 4];
        body[..2].copy_from_slice(&caps.to_le_bytes());
        let mut wmask = [0u8; 4];
        wmask[2..].copy_from_slice(&caps.to_le_bytes());
        self.add_ext_capability(spec::EXT_CAP_ID_ACS, 1, &body, &wmask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ro_rw_w1c() {
        let mut c = ConfigSpace::endpoint(0x1414, 0x1234, spec::CLASS_SYSTEM_OTHER, 1);
        // Vendor id is read-only.
        c.write(spec::VENDOR, 2, 0xdead);
        assert_eq!(c.read(spec::VENDOR, 2), 0x1414);
        // Command register: only defined bits stick.
        c.write(spec::COMMAND, 2, 0xffff);
        assert_eq!(c.read(spec::COMMAND, 2), 0x0507);
        // Status RW1C: set an error bit from the device, clear it from the guest.
        c.set_u16(spec::STATUS, 1 << 13);
        c.write(spec::STATUS, 2, 0);
        assert_eq!(c.read_u16(spec::STATUS) & (1 << 13), 1 << 13);
        c.write(spec::STATUS, 2, 1 << 13);
        assert_eq!(c.read_u16(spec::STATUS) & (1 << 13), 0);
    }

    #[test]
    fn out_of_range_is_harmless() {
        let mut c = ConfigSpace::endpoint(0x1414, 1, 0, 1);
        assert_eq!(c.read(0xfff, 4), u32::MAX);
        assert_eq!(c.read(0xffff, 1), u32::MAX);
        c.write(0xffe, 4, 0);
        c.write(0, 8, 0);
    }

    #[test]
    fn capability_chains() {
        let mut c = ConfigSpace::bridge(0x1414, 2);
        let pcie = c
            .add_pcie_capability(spec::PCIE_TYPE_ROOT_PORT, Some(3))
            .unwrap();
        let msix = c
            .add_capability(spec::CAP_ID_MSIX, &[0; 10], &[0; 10])
            .unwrap();
        assert_eq!(c.read_u8(spec::CAP_PTR) as u16, pcie);
        assert_eq!(c.read_u8(pcie + 1) as u16, msix);
        assert_eq!(c.read_u8(msix + 1), 0);
        assert_ne!(c.read_u16(spec::STATUS) & spec::STATUS_CAP_LIST, 0);
        assert_eq!((c.read_u16(pcie + 2) >> 4) & 0xf, spec::PCIE_TYPE_ROOT_PORT);
        let acs = c.add_acs_capability(spec::ACS_DEFAULT).unwrap();
        assert_eq!(acs, 0x100);
        assert_eq!(c.read_u16(acs + 4), spec::ACS_DEFAULT);
        c.write(acs + 6, 2, 0xffff);
        assert_eq!(c.read_u16(acs + 6), spec::ACS_DEFAULT);
    }

    #[test]
    fn bridge_bus_numbers_writable() {
        let mut c = ConfigSpace::bridge(0x1414, 2);
        c.write(spec::PRIMARY_BUS, 4, 0x0003_0201);
        assert_eq!(c.read_u8(spec::SECONDARY_BUS), 2);
        assert_eq!(c.read_u8(spec::SUBORDINATE_BUS), 3);
    }
}
