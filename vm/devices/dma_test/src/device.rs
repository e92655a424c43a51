//! The PCI function and its command engine.

use crate::ratelimit::RateLimit;
use crate::regs::*;
use guestmem::GuestMemoryAccess;
use guestmem::GuestMemoryError;
use iommu_common::DmaTarget;
use parking_lot::Mutex;
use pci_core::config_space::ConfigSpaceFull;
use pci_core::spec;
use pci_core::BarInfo;
use pci_core::BarKind;
use pci_core::ConfigSpace;
use pci_core::MsiController;
use pci_core::Msix;
use pci_core::PciDevice;
use pci_core::RequesterIdCell;
use std::sync::Arc;

/// Bounce buffer size for copies.
const CHUNK: u64 = 64 << 10;

const BAR: BarInfo = BarInfo {
    index: 0,
    size: BAR_SIZE,
    kind: BarKind::Memory64 {
        prefetchable: false,
    },
};

#[derive(Debug, Default, inspect::Inspect)]
struct Regs {
    #[inspect(hex)]
    addr_a: u64,
    #[inspect(hex)]
    addr_b: u64,
    #[inspect(hex)]
    length: u32,
    #[inspect(hex)]
    fill: u8,
    command: u32,
    status: u32,
    completions: u32,
    #[inspect(hex)]
    fault_addr: u64,
    #[inspect(skip)]
    log_limit: Option<RateLimit>,
}

/// The DMA test device.
pub struct DmaTestDevice {
    name: String,
    config: Mutex<ConfigSpace>,
    msix: Arc<Msix>,
    msix_cap: u16,
    dma: DmaTarget,
    regs: Mutex<Regs>,
}

fn set_lo(v: &mut u64, lo: u32) {
    *v = (*v & !0xffff_ffff) | u64::from(lo);
}

fn set_hi(v: &mut u64, hi: u32) {
    *v = (*v & 0xffff_ffff) | u64::from(hi) << 32;
}

impl DmaTestDevice {
    /// Creates the device; `dma` is its only access to guest memory, `msi` creates its
    /// MSI-X vector for requester `rid`.
    pub fn new(
        name: impl Into<String>,
        dma: DmaTarget,
        msi: Arc<dyn MsiController>,
        rid: RequesterIdCell,
    ) -> Result<Arc<Self>, ConfigSpaceFull> {
        let mut config = ConfigSpace::endpoint(spec::VENDOR_ID, DEVICE_ID, CLASS, DEVICE_ID);
        BAR.install(&mut config);
        config.add_pcie_capability(spec::PCIE_TYPE_ENDPOINT, None)?;
        let msix = Msix::new(&mut config, 1, BAR.index, MSIX_TABLE, MSIX_PBA, &*msi, &rid)?;
        // The MSI-X capability is the last one added.
        let mut cap = config.read_u8(spec::CAP_PTR) as u16;
        let mut msix_cap = 0;
        for _ in 0..48 {
            if cap == 0 {
                break;
            }
            if config.read_u8(cap) == spec::CAP_ID_MSIX {
                msix_cap = cap;
            }
            cap = config.read_u8(cap + 1) as u16;
        }
        Ok(Arc::new(Self {
            name: name.into(),
            config: Mutex::new(config),
            msix,
            msix_cap,
            dma,
            regs: Mutex::new(Regs {
                log_limit: Some(RateLimit::per_second(5)),
                ..Default::default()
            }),
        }))
    }

    fn msix_enabled(&self) -> bool {
        self.config.lock().read_u16(self.msix_cap + 2) & 0x8000 != 0
    }

    fn read_reg(&self, offset: u64) -> u32 {
        let r = self.regs.lock();
        match offset {
            ADDR_A_LO => r.addr_a as u32,
            ADDR_A_HI => (r.addr_a >> 32) as u32,
            ADDR_B_LO => r.addr_b as u32,
            ADDR_B_HI => (r.addr_b >> 32) as u32,
            LENGTH => r.length,
            FILL => r.fill.into(),
            COMMAND => r.command,
            STATUS => r.status,
            COMPLETIONS => r.completions,
            FAULT_ADDR_LO => r.fault_addr as u32,
            FAULT_ADDR_HI => (r.fault_addr >> 32) as u32,
            ID => ID_VALUE,
            MAX_LENGTH_REG => MAX_LENGTH,
            _ => 0,
        }
    }

    fn write_reg(&self, offset: u64, v: u32) {
        let mut r = self.regs.lock();
        match offset {
            ADDR_A_LO => set_lo(&mut r.addr_a, v),
            ADDR_A_HI => set_hi(&mut r.addr_a, v),
            ADDR_B_LO => set_lo(&mut r.addr_b, v),
            ADDR_B_HI => set_hi(&mut r.addr_b, v),
            LENGTH => r.length = v,
            FILL => r.fill = v as u8,
            COMMAND => {
                r.command = v;
                r.status = STATUS_BUSY;
                let status = self.execute(&mut r, v);
                r.status = status;
                r.completions = r.completions.wrapping_add(1);
                drop(r);
                if self.msix_enabled() {
                    self.msix.signal(0);
                }
            }
            _ => {}
        }
    }

    fn execute(&self, r: &mut Regs, command: u32) -> u32 {
        let len = r.length;
        if matches!(command, CMD_COPY | CMD_FILL) && len > MAX_LENGTH {
            return STATUS_BAD_LENGTH;
        }
        let result = match command {
            CMD_COPY => self.copy(r.addr_a, r.addr_b, u64::from(len)),
            CMD_FILL => self.dma.fill_at(r.addr_b, r.fill, u64::from(len)),
            CMD_INTERRUPT => Ok(()),
            _ => return STATUS_BAD_COMMAND,
        };
        match result {
            Ok(()) => STATUS_DONE,
            Err(err) => {
                r.fault_addr = match err {
                    GuestMemoryError::Fault { addr, .. } => addr,
                    GuestMemoryError::OutOfRange { gpa, .. } => gpa,
                    GuestMemoryError::Unaligned { gpa, .. } => gpa,
                    _ => 0,
                };
                if r.log_limit.as_mut().is_some_and(|l| l.allow()) {
                    tracing::info!(
                        device = self.name,
                        error = &err as &dyn std::error::Error,
                        "dma_test: DMA failed"
                    );
                }
                STATUS_DMA_FAILED
            }
        }
    }

    /// Copies `len` bytes from `a` to `b` in chunks, backwards when `b` overlaps the
    /// tail of `a`, so overlapping copies behave like memmove.
    fn copy(&self, a: u64, b: u64, len: u64) -> Result<(), GuestMemoryError> {
        if len == 0 {
            return Ok(());
        }
        for (addr, which) in [(a, a), (b, b)] {
            if addr.checked_add(len).is_none() {
                return Err(GuestMemoryError::OutOfRange { gpa: which, len });
            }
        }
        let mut buf = vec![0u8; CHUNK.min(len) as usize];
        let backwards = b > a && b < a + len;
        let chunks = len.div_ceil(CHUNK);
        for i in 0..chunks {
            let i = if backwards { chunks - 1 - i } else { i };
            let off = i * CHUNK;
            let n = (len - off).min(CHUNK) as usize;
            self.dma.read_at(a + off, &mut buf[..n])?;
            self.dma.write_at(b + off, &buf[..n])?;
        }
        Ok(())
    }

    fn access(&self, offset: u64, len: usize) -> Option<impl Iterator<Item = u64>> {
        let ok = matches!(len, 4 | 8) && offset % len as u64 == 0;
        ok.then(|| (0..len as u64 / 4).map(move |i| offset + 4 * i))
    }
}

impl PciDevice for DmaTestDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn config_read(&self, offset: u16, len: usize) -> u32 {
        self.config.lock().read(offset, len)
    }

    fn config_write(&self, offset: u16, len: usize, value: u32) {
        let mut c = self.config.lock();
        c.write(offset, len, value);
        self.msix.config_changed(&c);
    }

    fn bars(&self) -> Vec<BarInfo> {
        vec![BAR]
    }

    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) {
        data.fill(0);
        if bar != BAR.index {
            data.fill(0xff);
            return;
        }
        if self.msix.claims(offset) {
            self.msix.read(offset, data);
            return;
        }
        if let Some(dwords) = self.access(offset, data.len()) {
            for (i, off) in dwords.enumerate() {
                data[4 * i..4 * i + 4].copy_from_slice(&self.read_reg(off).to_le_bytes());
            }
        }
    }

    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) {
        if bar != BAR.index {
            return;
        }
        if self.msix.claims(offset) {
            self.msix.write(offset, data);
            return;
        }
        if let Some(dwords) = self.access(offset, data.len()) {
            for (i, off) in dwords.enumerate() {
                let v = u32::from_le_bytes(data[4 * i..4 * i + 4].try_into().unwrap());
                self.write_reg(off, v);
            }
        }
    }
}

impl inspect::Inspect for DmaTestDevice {
    fn inspect(&self, node: &mut inspect::Node) {
        node.value("name", self.name.as_str())
            .field("regs", &*self.regs.lock())
            .value("msix_enabled", self.msix_enabled());
    }
}

#[cfg(test)]
mod tests;
