//! MMIO register access (#48882 §3.4). Registers are 64 bits wide; 1-, 2-, 4- and
//! 8-byte accesses are accepted when naturally aligned and inside one register (a
//! partial write merges into the register, and touches only the RW1C status bits it
//! covers). Other accesses read as zero and are ignored, as are unimplemented
//! offsets.

use crate::spec::regs::*;
use crate::state::State;

impl State {
    /// MMIO read.
    pub fn mmio_read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let Some((reg, shift)) = decode(offset, data.len()) else {
            self.warn_access(offset, data.len());
            return;
        };
        let value = self.read_reg(reg) >> shift;
        let bytes = value.to_le_bytes();
        data.copy_from_slice(&bytes[..data.len()]);
    }

    /// MMIO write.
    pub fn mmio_write(&mut self, offset: u64, data: &[u8]) {
        let Some((reg, shift)) = decode(offset, data.len()) else {
            self.warn_access(offset, data.len());
            return;
        };
        let mut bytes = [0u8; 8];
        bytes[..data.len()].copy_from_slice(data);
        let value = u64::from_le_bytes(bytes) << shift;
        let mask = if data.len() == 8 {
            !0
        } else {
            ((1u64 << (data.len() * 8)) - 1) << shift
        };
        self.write_reg(reg, value, mask);
    }

    fn warn_access(&mut self, offset: u64, len: usize) {
        if self.log_limit.allow() {
            tracing::debug!(offset, len, "amd-iommu: unsupported MMIO access ignored");
        }
    }

    fn read_reg(&self, reg: u64) -> u64 {
        let xt = self.config.xtsup;
        match reg {
            DEV_TABLE_BASE => self.dev_table_base,
            CMD_BUF_BASE => self.cmd_buf_base,
            EVENT_LOG_BASE => self.event_log_base,
            CONTROL => self.control,
            EXCL_BASE => self.excl_base,
            EXCL_LIMIT => self.excl_limit | 0xfff,
            EXT_FEATURES => self.efr,
            INTCAPXT_EVT if xt => self.intcapxt_evt,
            INTCAPXT_PPR if xt => self.intcapxt_ppr,
            INTCAPXT_GALOG if xt => self.intcapxt_galog,
            CMD_BUF_HEAD => self.cmd_head,
            CMD_BUF_TAIL => self.cmd_tail,
            EVENT_LOG_HEAD => self.evt_head,
            EVENT_LOG_TAIL => self.evt_tail,
            STATUS => self.status(),
            _ => 0,
        }
    }

    fn write_reg(&mut self, reg: u64, value: u64, mask: u64) {
        let merge =
            |old: u64, writable: u64| (old & !(mask & writable)) | (value & mask & writable);
        let xt = self.config.xtsup;
        match reg {
            DEV_TABLE_BASE => {
                self.dev_table_base = merge(self.dev_table_base, DEV_TABLE_WRITABLE);
                self.remap_changed = true;
            }
            CMD_BUF_BASE => self.cmd_buf_base = merge(self.cmd_buf_base, RING_BASE_WRITABLE),
            EVENT_LOG_BASE => self.event_log_base = merge(self.event_log_base, RING_BASE_WRITABLE),
            CONTROL => {
                let writable = CONTROL_WRITABLE | if xt { CONTROL_XT_WRITABLE } else { 0 };
                let new = merge(self.control, writable);
                self.write_control(new);
            }
            EXCL_BASE => self.excl_base = merge(self.excl_base, EXCL_BASE_WRITABLE),
            EXCL_LIMIT => self.excl_limit = merge(self.excl_limit, EXCL_LIMIT_WRITABLE),
            INTCAPXT_EVT if xt => self.intcapxt_evt = merge(self.intcapxt_evt, INTCAPXT_WRITABLE),
            INTCAPXT_PPR if xt => self.intcapxt_ppr = merge(self.intcapxt_ppr, INTCAPXT_WRITABLE),
            INTCAPXT_GALOG if xt => {
                self.intcapxt_galog = merge(self.intcapxt_galog, INTCAPXT_WRITABLE)
            }
            // Software may move the command head only while the buffer is not running.
            CMD_BUF_HEAD if !self.cmd_running() => {
                self.cmd_head = merge(self.cmd_head, HEAD_TAIL_MASK)
            }
            CMD_BUF_TAIL => {
                self.cmd_tail = merge(self.cmd_tail, HEAD_TAIL_MASK);
                self.process_commands();
            }
            EVENT_LOG_HEAD => self.evt_head = merge(self.evt_head, HEAD_TAIL_MASK),
            // The event tail belongs to the IOMMU while the log runs.
            EVENT_LOG_TAIL if !self.evt_running() => {
                self.evt_tail = merge(self.evt_tail, HEAD_TAIL_MASK)
            }
            STATUS => self.status_w1c &= !(value & mask & STATUS_W1C),
            _ => {}
        }
    }

    /// Applies a new control value and its side effects (#48882 §3.4.4).
    fn write_control(&mut self, new: u64) {
        let old = Control::from_bits(self.control);
        let new_c = Control::from_bits(new);
        self.control = new;
        if !new_c.cmd_buf_en() {
            // Clearing CmdBufEn is how software restarts a halted buffer.
            self.cmd_halted = false;
        }
        if !new_c.event_log_en() {
            self.evt_stopped = false;
        }
        if old.iommu_en() != new_c.iommu_en()
            || old.ga_en() != new_c.ga_en()
            || old.xt_en() != new_c.xt_en()
        {
            self.remap_changed = true;
        }
        let started = (!old.cmd_buf_en() || !old.iommu_en()) && self.cmd_running();
        if started {
            self.process_commands();
        }
    }
}

/// Splits an access into (register offset, bit shift), or `None` when it is
/// misaligned, of an unsupported size, or outside the region.
fn decode(offset: u64, len: usize) -> Option<(u64, u32)> {
    if !matches!(len, 1 | 2 | 4 | 8) || offset >= MMIO_SIZE {
        return None;
    }
    let len = len as u64;
    if offset % len != 0 {
        return None;
    }
    Some((offset & !7, ((offset & 7) * 8) as u32))
}

#[cfg(test)]
mod tests;
