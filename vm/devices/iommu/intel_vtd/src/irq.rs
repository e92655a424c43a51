//! The unit's own interrupts: the fault event (FECTL/FEDATA/FEADDR/FEUADDR) and the
//! invalidation completion event (IECTL/IEDATA/IEADDR/IEUADDR), each an MSI with an
//! interrupt mask (IM) and interrupt pending (IP) bit (VT-d §7.4, "Fault Event
//! Interrupts", and §6.5.2.9, "Invalidation Completion"). These messages are sent
//! as programmed, never through interrupt remapping.

use crate::spec::regs::EventCtl;
use iommu_common::MsiMessage;

/// One event interrupt's control, data and address registers.
#[derive(Debug, Clone, inspect::Inspect)]
pub(crate) struct EventIrq {
    /// IM: set at reset.
    pub masked: bool,
    /// IP: an event happened while masked.
    pub pending: bool,
    /// xDATA: bits 15:0 (EIMD, bits 31:16, is not implemented).
    #[inspect(hex)]
    pub data: u32,
    /// xADDR: bits 31:2.
    #[inspect(hex)]
    pub addr: u32,
    /// xUADDR: implemented only with EIM.
    #[inspect(hex)]
    pub uaddr: u32,
    /// Whether the upper address register exists (ECAP.EIM).
    pub has_upper: bool,
}

impl EventIrq {
    /// Reset state: masked, nothing pending.
    pub fn new(has_upper: bool) -> Self {
        Self {
            masked: true,
            pending: false,
            data: 0,
            addr: 0,
            uaddr: 0,
            has_upper,
        }
    }

    /// The message as programmed.
    pub fn message(&self) -> MsiMessage {
        MsiMessage {
            address: ((self.uaddr as u64) << 32) | self.addr as u64,
            data: self.data,
        }
    }

    /// An event condition: send now if unmasked, else hold it pending. An event that
    /// is already pending is not repeated.
    pub fn raise(&mut self, out: &mut Vec<MsiMessage>) {
        if self.pending {
            return;
        }
        if self.masked {
            self.pending = true;
        } else {
            out.push(self.message());
        }
    }

    /// The control register value.
    pub fn ctl(&self) -> u32 {
        EventCtl::new()
            .with_im(self.masked)
            .with_ip(self.pending)
            .into_bits()
    }

    /// A write to the control register: only IM is writable; unmasking delivers a
    /// pending interrupt.
    pub fn write_ctl(&mut self, val: u32, out: &mut Vec<MsiMessage>) {
        self.masked = EventCtl::from(val).im();
        if !self.masked && self.pending {
            self.pending = false;
            out.push(self.message());
        }
    }

    /// Software serviced every condition behind the event: drop a pending interrupt.
    pub fn conditions_cleared(&mut self) {
        self.pending = false;
    }

    /// A write to the data register.
    pub fn write_data(&mut self, val: u32) {
        self.data = val & 0xffff;
    }

    /// A write to the address register.
    pub fn write_addr(&mut self, val: u32) {
        self.addr = val & !3;
    }

    /// A write to the upper address register.
    pub fn write_uaddr(&mut self, val: u32) {
        if self.has_upper {
            self.uaddr = val;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_event_pends_until_unmasked() {
        let mut irq = EventIrq::new(true);
        irq.write_data(0x1_0041);
        irq.write_addr(0xfee0_0003);
        irq.write_uaddr(0x100);
        let mut out = Vec::new();
        irq.raise(&mut out);
        assert!(out.is_empty());
        assert_eq!(irq.ctl(), 0xc000_0000);
        irq.raise(&mut out);
        irq.write_ctl(0, &mut out);
        assert_eq!(
            out,
            [MsiMessage {
                address: 0x100_fee0_0000,
                data: 0x41
            }]
        );
        assert_eq!(irq.ctl(), 0);
        irq.raise(&mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn cleared_condition_drops_pending() {
        let mut irq = EventIrq::new(false);
        irq.write_uaddr(0xffff);
        assert_eq!(irq.uaddr, 0);
        let mut out = Vec::new();
        irq.raise(&mut out);
        irq.conditions_cleared();
        irq.write_ctl(0, &mut out);
        assert!(out.is_empty());
    }
}
