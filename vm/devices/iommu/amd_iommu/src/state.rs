//! The IOMMU's state, kept behind the device's single lock, and the interrupt
//! bookkeeping shared by the event log and the command buffer.

use crate::device::AmdIommuConfig;
use crate::ratelimit::RateLimit;
use crate::spec::regs::efr;
use crate::spec::regs::Control;
use crate::spec::regs::DevTableBase;
use crate::spec::regs::IntCapXt;
use crate::spec::regs::RingBase;
use crate::spec::regs::Status;
use guestmem::GuestMemory;
use iommu_common::MsiMessage;

/// Counters for inspection.
#[derive(Debug, Default, Clone, Copy, inspect::Inspect)]
pub(crate) struct Stats {
    /// DMA translations requested.
    pub translations: u64,
    /// DMA translations that faulted.
    pub dma_faults: u64,
    /// MSI remap requests.
    pub remaps: u64,
    /// MSI remap requests that were blocked.
    pub remaps_blocked: u64,
    /// Events written to the log.
    pub events: u64,
    /// Events lost (log disabled, full, unreadable).
    pub events_dropped: u64,
    /// Commands executed.
    pub commands: u64,
    /// Interrupts signalled.
    pub interrupts: u64,
}

/// The PCI-side state: where the registers live and the MSI capability.
#[derive(Debug, Default, Clone, Copy, inspect::Inspect)]
pub(crate) struct PciState {
    /// Base address low register (bits 31:14 and Enable).
    #[inspect(hex)]
    pub base_lo: u32,
    /// Base address high register.
    #[inspect(hex)]
    pub base_hi: u32,
    /// MSI message control word.
    #[inspect(hex)]
    pub msi_control: u16,
    /// MSI message address.
    #[inspect(hex)]
    pub msi_address: u64,
    /// MSI message data.
    #[inspect(hex)]
    pub msi_data: u16,
}

/// Registers and everything derived from them.
#[derive(inspect::Inspect)]
pub(crate) struct State {
    #[inspect(skip)]
    pub config: AmdIommuConfig,
    #[inspect(skip)]
    pub mem: GuestMemory,
    /// The advertised extended feature register.
    #[inspect(hex)]
    pub efr: u64,
    #[inspect(hex)]
    pub dev_table_base: u64,
    #[inspect(hex)]
    pub cmd_buf_base: u64,
    #[inspect(hex)]
    pub event_log_base: u64,
    #[inspect(hex)]
    pub control: u64,
    #[inspect(hex)]
    pub excl_base: u64,
    #[inspect(hex)]
    pub excl_limit: u64,
    #[inspect(hex)]
    pub intcapxt_evt: u64,
    #[inspect(hex)]
    pub intcapxt_ppr: u64,
    #[inspect(hex)]
    pub intcapxt_galog: u64,
    #[inspect(hex)]
    pub cmd_head: u64,
    #[inspect(hex)]
    pub cmd_tail: u64,
    #[inspect(hex)]
    pub evt_head: u64,
    #[inspect(hex)]
    pub evt_tail: u64,
    /// The write-one-to-clear status bits (the run bits are computed).
    #[inspect(hex)]
    pub status_w1c: u64,
    /// The command buffer stopped on an error; cleared when CmdBufEn is cleared.
    pub cmd_halted: bool,
    /// The event log stopped on overflow or an error; cleared when EventLogEn is
    /// cleared.
    pub evt_stopped: bool,
    pub pci: PciState,
    pub stats: Stats,
    #[inspect(skip)]
    pub log_limit: RateLimit,
    /// Interrupts to deliver once the lock is dropped.
    #[inspect(skip)]
    pub pending_msis: Vec<MsiMessage>,
    /// Remapping decisions may have changed: tell the listener after unlocking.
    pub remap_changed: bool,
}

impl State {
    /// Reset state (#48882 §3.4: registers reset to zero).
    pub fn new(config: AmdIommuConfig, mem: GuestMemory) -> Self {
        Self {
            efr: efr_for(&config),
            config,
            mem,
            dev_table_base: 0,
            cmd_buf_base: 0,
            event_log_base: 0,
            control: 0,
            excl_base: 0,
            excl_limit: 0,
            intcapxt_evt: 0,
            intcapxt_ppr: 0,
            intcapxt_galog: 0,
            cmd_head: 0,
            cmd_tail: 0,
            evt_head: 0,
            evt_tail: 0,
            status_w1c: 0,
            cmd_halted: false,
            evt_stopped: false,
            pci: PciState::default(),
            stats: Stats::default(),
            log_limit: RateLimit::per_second(10),
            pending_msis: Vec::new(),
            remap_changed: false,
        }
    }

    pub fn ctrl(&self) -> Control {
        Control::from_bits(self.control)
    }

    pub fn dev_table(&self) -> DevTableBase {
        DevTableBase::from_bits(self.dev_table_base)
    }

    pub fn cmd_ring(&self) -> RingBase {
        RingBase::from_bits(self.cmd_buf_base)
    }

    pub fn evt_ring(&self) -> RingBase {
        RingBase::from_bits(self.event_log_base)
    }

    /// Whether commands are fetched (#48882 §3.4.4: IommuEn and CmdBufEn).
    pub fn cmd_running(&self) -> bool {
        let c = self.ctrl();
        c.iommu_en() && c.cmd_buf_en() && !self.cmd_halted
    }

    /// Whether events are written (#48882 §3.4.4: IommuEn and EventLogEn).
    pub fn evt_running(&self) -> bool {
        let c = self.ctrl();
        c.iommu_en() && c.event_log_en() && !self.evt_stopped
    }

    /// The status register as the guest reads it.
    pub fn status(&self) -> u64 {
        Status::from_bits(self.status_w1c)
            .with_event_log_run(self.evt_running())
            .with_cmd_buf_run(self.cmd_running())
            .into_bits()
    }

    /// Sets a write-one-to-clear status bit; an interrupt is queued when the bit
    /// rises (an edge), so a guest that has not yet cleared it is not re-interrupted.
    pub fn raise_status(&mut self, bit: u64) {
        let rose = self.status_w1c & bit == 0;
        self.status_w1c |= bit;
        if rose {
            if let Some(msg) = self.interrupt_message() {
                self.stats.interrupts += 1;
                self.pending_msis.push(msg);
            }
        }
    }

    /// Where the IOMMU's own interrupt goes: the INTCAPXT event register when
    /// IntCapXTEn = 1 (#48882 §3.4.14), else the PCI MSI capability when enabled.
    /// Never remapped.
    pub fn interrupt_message(&self) -> Option<MsiMessage> {
        if self.config.xtsup && self.ctrl().int_cap_xt_en() {
            let xt = IntCapXt::from_bits(self.intcapxt_evt);
            if self.intcapxt_evt == 0 {
                // Linux masks the interrupt by writing zero.
                return None;
            }
            return Some(x86_msi(xt.destination(), xt.dest_mode(), xt.vector(), 0));
        }
        if self.pci.msi_control & crate::spec::pci::MSI_CTRL_ENABLE != 0 {
            return Some(MsiMessage {
                address: self.pci.msi_address,
                data: self.pci.msi_data.into(),
            });
        }
        None
    }
}

/// The EFR this model advertises (#48882 §3.4.7): IASup (INVALIDATE_IOMMU_ALL),
/// GASup (128-bit IRTEs), XTSup when configured, and HATS = six-level host tables.
/// Nothing else: no PPR, guest translation, prefetch, NX, hardware error registers,
/// performance counters or guest virtual APIC.
pub(crate) fn efr_for(config: &AmdIommuConfig) -> u64 {
    let mut v = efr::IA_SUP | efr::GA_SUP | (efr::HATS_6_LEVEL << efr::HATS_SHIFT);
    if config.xtsup {
        v |= efr::XT_SUP;
    }
    v
}

/// An x86 MSI for `dest` (#48882 §2.2.5.3; Intel SDM vol. 3 §11.11): destination bits
/// 7:0 in address bits 19:12, bits 31:8 in address bits 63:40 (the layout KVM's
/// 32-bit x2APIC id API reads), destination mode in address bit 2; vector and
/// delivery mode in the data, plus `data_extra` (trigger mode bits).
pub(crate) fn x86_msi(dest: u32, logical: bool, vector: u8, data_high: u32) -> MsiMessage {
    let address = 0xfee0_0000u64
        | (u64::from(dest & 0xff) << 12)
        | (u64::from(logical) << 2)
        | (u64::from(dest & 0xffff_ff00) << 32);
    MsiMessage {
        address,
        data: u32::from(vector) | data_high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msi_layout() {
        let m = x86_msi(0x1234_5678, true, 0x41, 0);
        assert_eq!(m.address & 0xffff_ffff, 0xfee7_8004);
        assert_eq!(m.address >> 40, 0x12_3456);
        assert_eq!(m.data, 0x41);
        let m = x86_msi(3, false, 0x30, 1 << 15);
        assert_eq!(m.address, 0xfee0_3000);
        assert_eq!(m.data, 0x8030);
    }

    #[test]
    fn efr_values() {
        let mut c = AmdIommuConfig {
            intremap: true,
            xtsup: false,
            segment: 0,
            iommu_bdf: 0x10,
        };
        assert_eq!(efr_for(&c), 0x8c0);
        c.xtsup = true;
        assert_eq!(efr_for(&c), 0x8c4);
        assert_eq!(efr_for(&c) & (efr::PC_SUP | efr::PPR_SUP | efr::GT_SUP), 0);
    }
}
