//! Register reads and writes (IHI 0070 chapter 6). 32-bit registers take 32-bit
//! accesses; 64-bit registers take 64-bit accesses or 32-bit accesses to either half.
//! Anything else reads as zero and ignores writes.

use crate::spec::regs::*;
use crate::state::State;

/// Architecture revision reported in SMMU_AIDR: SMMUv3.2 (range invalidation).
const AIDR_VALUE: u32 = 0x02;
/// Writable CR0 bits: SMMUEN, EVENTQEN, CMDQEN (PRI and ATS checks are not
/// implemented, VMW is not advertised).
const CR0_MASK: u32 = 0b1101;
/// Writable IRQ_CTRL bits: GERROR and EVENTQ enables.
const IRQ_CTRL_MASK: u32 = 0b101;
/// GERRORN bits software may acknowledge.
const GERROR_MASK: u32 = 0x1fd;

/// Which 64-bit register an offset belongs to.
fn reg64(offset: u64) -> Option<u64> {
    let base = offset & !7;
    matches!(
        base,
        GERROR_IRQ_CFG0 | STRTAB_BASE | CMDQ_BASE | EVENTQ_BASE | EVENTQ_IRQ_CFG0
    )
    .then_some(base)
}

impl State {
    fn read64_reg(&self, base: u64) -> u64 {
        match base {
            GERROR_IRQ_CFG0 => self.gerror_irq.addr,
            STRTAB_BASE => self.strtab_base.into_bits(),
            CMDQ_BASE => self.cmdq_base.into_bits(),
            EVENTQ_BASE => self.eventq_base.into_bits(),
            EVENTQ_IRQ_CFG0 => self.eventq_irq.addr,
            _ => 0,
        }
    }

    fn warn_ignored(&mut self, what: &'static str) {
        if self.log_limit.allow() {
            tracing::warn!(register = what, "smmu: write ignored while enabled");
        }
    }

    fn write64_reg(&mut self, base: u64, value: u64) {
        match base {
            GERROR_IRQ_CFG0 => self.gerror_irq.addr = value & IRQ_CFG0_ADDR_MASK,
            EVENTQ_IRQ_CFG0 => self.eventq_irq.addr = value & IRQ_CFG0_ADDR_MASK,
            STRTAB_BASE if self.cr0.smmuen() => self.warn_ignored("STRTAB_BASE"),
            STRTAB_BASE => self.strtab_base = StrtabBase::from_bits(value),
            CMDQ_BASE if self.cr0.cmdqen() => self.warn_ignored("CMDQ_BASE"),
            CMDQ_BASE => self.cmdq_base = QueueBase::from_bits(value),
            EVENTQ_BASE if self.cr0.eventqen() => self.warn_ignored("EVENTQ_BASE"),
            EVENTQ_BASE => self.eventq_base = QueueBase::from_bits(value),
            _ => {}
        }
    }

    fn read32_reg(&self, offset: u64) -> u32 {
        match offset {
            IDR0 => self.caps.idr0().into_bits(),
            IDR1 => self.caps.idr1().into_bits(),
            IDR3 => self.caps.idr3().into_bits(),
            IDR5 => self.caps.idr5().into_bits(),
            AIDR => AIDR_VALUE,
            CR0 | CR0ACK => self.cr0.into_bits(),
            CR1 => self.cr1,
            CR2 => self.cr2.into_bits(),
            GBPA => self.gbpa.into_bits(),
            IRQ_CTRL | IRQ_CTRLACK => self.irq_ctrl.into_bits(),
            GERROR => self.gerror,
            GERRORN => self.gerrorn,
            GERROR_IRQ_CFG1 => self.gerror_irq.data,
            GERROR_IRQ_CFG2 => self.gerror_irq.attr,
            STRTAB_BASE_CFG => self.strtab_base_cfg.into_bits(),
            CMDQ_PROD => self.cmdq_prod,
            CMDQ_CONS => self.cmdq_cons | ((self.cmdq_err as u32) << CMDQ_CONS_ERR_SHIFT),
            EVENTQ_PROD | EVENTQ_PROD_PAGE0 => self.eventq_prod,
            EVENTQ_CONS | EVENTQ_CONS_PAGE0 => self.eventq_cons,
            EVENTQ_IRQ_CFG1 => self.eventq_irq.data,
            EVENTQ_IRQ_CFG2 => self.eventq_irq.attr,
            _ => match reg64(offset) {
                Some(base) => (self.read64_reg(base) >> ((offset & 4) * 8)) as u32,
                None => 0,
            },
        }
    }

    fn write32_reg(&mut self, offset: u64, value: u32) {
        match offset {
            CR0 => {
                let old = self.cr0;
                self.cr0 = Cr0::from_bits(value & CR0_MASK);
                if self.cr0.cmdqen() && !old.cmdqen() {
                    // Enabling the queue starts consumption from the current indices.
                    self.cmdq_err = 0;
                }
                self.process_cmdq();
            }
            CR1 => self.cr1 = value,
            CR2 => self.cr2 = Cr2::from_bits(value & 0b111),
            GBPA => {
                // Only a write with UPDATE set changes the attributes; the update is
                // complete at once, so UPDATE always reads 0.
                if Gbpa::from_bits(value).update() {
                    self.gbpa = Gbpa::from_bits(value).with_update(false);
                }
            }
            IRQ_CTRL => self.irq_ctrl = IrqCtrl::from_bits(value & IRQ_CTRL_MASK),
            GERRORN => {
                self.gerrorn = value & GERROR_MASK;
                // An acknowledged command error lets the queue resume.
                if !self.gerror_active(Gerror::new().with_cmdq_err(true)) {
                    self.cmdq_err = 0;
                    self.process_cmdq();
                }
            }
            GERROR_IRQ_CFG1 => self.gerror_irq.data = value,
            GERROR_IRQ_CFG2 => self.gerror_irq.attr = value & 0x3f,
            STRTAB_BASE_CFG if self.cr0.smmuen() => self.warn_ignored("STRTAB_BASE_CFG"),
            STRTAB_BASE_CFG => self.strtab_base_cfg = StrtabBaseCfg::from_bits(value),
            CMDQ_PROD => {
                self.cmdq_prod = value & 0xf_ffff;
                self.process_cmdq();
            }
            CMDQ_CONS if self.cr0.cmdqen() => self.warn_ignored("CMDQ_CONS"),
            CMDQ_CONS => self.cmdq_cons = value & 0xf_ffff,
            EVENTQ_PROD | EVENTQ_PROD_PAGE0 if self.cr0.eventqen() => {
                self.warn_ignored("EVENTQ_PROD")
            }
            EVENTQ_PROD | EVENTQ_PROD_PAGE0 => {
                self.eventq_prod = value & (0xf_ffff | EVENTQ_PROD_OVFLG)
            }
            EVENTQ_CONS | EVENTQ_CONS_PAGE0 => {
                self.eventq_cons = value & (0xf_ffff | EVENTQ_CONS_OVACKFLG)
            }
            EVENTQ_IRQ_CFG1 => self.eventq_irq.data = value,
            EVENTQ_IRQ_CFG2 => self.eventq_irq.attr = value & 0x3f,
            _ => {
                if let Some(base) = reg64(offset) {
                    let shift = (offset & 4) * 8;
                    let old = self.read64_reg(base);
                    let new = (old & !(0xffff_ffffu64 << shift)) | ((value as u64) << shift);
                    self.write64_reg(base, new);
                }
            }
        }
    }

    /// An MMIO read of `data.len()` bytes at `offset` in the SMMU's region.
    pub(crate) fn mmio_read(&self, offset: u64, data: &mut [u8]) {
        let value = match data.len() {
            4 if offset % 4 == 0 => self.read32_reg(offset) as u64,
            8 if offset % 8 == 0 => reg64(offset).map_or(0, |b| self.read64_reg(b)),
            _ => 0,
        };
        let bytes = value.to_le_bytes();
        let n = data.len().min(8);
        data[..n].copy_from_slice(&bytes[..n]);
        data[n..].fill(0);
    }

    /// An MMIO write of `data` at `offset` in the SMMU's region.
    pub(crate) fn mmio_write(&mut self, offset: u64, data: &[u8]) {
        match data.len() {
            4 if offset % 4 == 0 => self.write32_reg(
                offset,
                u32::from_le_bytes(data.try_into().expect("4 bytes")),
            ),
            8 if offset % 8 == 0 => {
                if let Some(base) = reg64(offset) {
                    self.write64_reg(base, u64::from_le_bytes(data.try_into().expect("8 bytes")))
                }
            }
            _ => {
                if self.log_limit.allow() {
                    tracing::warn!(
                        offset,
                        len = data.len(),
                        "smmu: unsupported access size ignored"
                    );
                }
            }
        }
    }
}
