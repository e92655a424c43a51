//! Interrupt remapping (VT-d chapter 5): compatibility- and remappable-format
//! requests, IRTE validation, source validation, and the delivered message.
//!
//! The delivered message is in x86 compatibility format. With EIME set the 32-bit
//! x2APIC destination is split the way KVM's x2APIC MSI routes expect it: bits 7:0
//! in address bits 19:12 and bits 31:8 in address bits 63:40 (the upper address
//! dword's bits 31:8).

use crate::fault::Fault;
use crate::mem::read_u128;
use crate::spec::fault::FaultReason;
use crate::spec::irte::svt;
use crate::spec::irte::Irte;
use crate::spec::irte::RemappableAddr;
use crate::spec::irte::INTERRUPT_ADDR_BASE;
use crate::spec::irte::INTERRUPT_ADDR_MASK;
use crate::spec::irte::IRTE_SIZE;
use crate::spec::irte::SQ_MASKS;
use crate::state::State;
use iommu_common::MsiMessage;
use iommu_common::RequesterId;

/// Why a request was blocked, with what the fault record needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IrFault {
    pub reason: FaultReason,
    /// Interrupt index, when known.
    pub index: u32,
    /// The IRTE's FPD suppresses recording.
    pub fpd: bool,
}

impl IrFault {
    fn new(reason: FaultReason, index: u32, fpd: bool) -> Self {
        Self { reason, index, fpd }
    }
}

/// Whether a present IRTE has reserved bits set, given the interrupt mode.
fn irte_reserved(irte: Irte, eime: bool) -> bool {
    irte.rsvd0() != 0
        || irte.rsvd1() != 0
        || irte.rsvd2() != 0
        // Posted format needs CAP.PI.
        || irte.im()
        || irte.svt() == 3
        // xAPIC mode: only DST bits 15:8 hold the destination.
        || (!eime && irte.dst() & 0xffff_00ff != 0)
}

/// Source validation (VT-d §9.10, SVT/SQ/SID).
fn source_ok(irte: Irte, rid: u16) -> bool {
    match irte.svt() {
        svt::SID_SQ => (rid ^ irte.sid()) & SQ_MASKS[usize::from(irte.sq())] == 0,
        svt::BUS_RANGE => {
            let bus = rid >> 8;
            let (first, last) = (irte.sid() >> 8, irte.sid() & 0xff);
            (first..=last).contains(&bus)
        }
        _ => true,
    }
}

/// The compatibility-format message an IRTE delivers.
fn compose(irte: Irte, eime: bool) -> MsiMessage {
    let dest = if eime {
        irte.dst()
    } else {
        (irte.dst() >> 8) & 0xff
    };
    let address = INTERRUPT_ADDR_BASE
        | (u64::from(dest >> 8) << 40)
        | (u64::from(dest & 0xff) << 12)
        | (u64::from(irte.rh()) << 3)
        | (u64::from(irte.dm()) << 2);
    let data = u32::from(irte.vector())
        | (u32::from(irte.dlm()) << 8)
        | (u32::from(irte.tm()) << 14)
        | (u32::from(irte.tm()) << 15);
    MsiMessage { address, data }
}

impl State {
    /// Remaps one interrupt request (VT-d §5.1.3, "Interrupt Remapping Fault
    /// Conditions"). Faults are recorded here.
    pub(crate) fn remap_msi(
        &mut self,
        rid: RequesterId,
        msg: MsiMessage,
    ) -> Result<MsiMessage, IrFault> {
        if !self.gsts.ires() {
            self.stats.remaps += 1;
            return Ok(msg);
        }
        match self.remap_enabled(rid, msg) {
            Ok(m) => {
                self.stats.remaps += 1;
                Ok(m)
            }
            Err(f) => {
                self.stats.remap_faults += 1;
                self.report_fault(
                    Fault {
                        reason: f.reason,
                        sid: rid.bdf,
                        info: u64::from(f.index),
                        read: false,
                    },
                    f.fpd,
                );
                Err(f)
            }
        }
    }

    fn remap_enabled(&self, rid: RequesterId, msg: MsiMessage) -> Result<MsiMessage, IrFault> {
        if rid.segment != self.caps.config.segment
            || msg.address & INTERRUPT_ADDR_MASK != INTERRUPT_ADDR_BASE
        {
            // Not an interrupt request this unit can decode.
            return Err(IrFault::new(FaultReason::IrRequestReserved, 0, false));
        }
        let addr = RemappableAddr::from(msg.address as u32);
        let eime = self.ir_table.is_some_and(|t| t.eime);
        if !addr.remappable() {
            // Compatibility format passes only with CFIS set and EIME clear
            // (VT-d §5.1.2.1).
            return if self.gsts.cfis() && !eime {
                Ok(msg)
            } else {
                Err(IrFault::new(FaultReason::IrCompatBlocked, 0, false))
            };
        }
        let mut index = addr.handle();
        if addr.shv() {
            index += msg.data & 0xffff;
        }
        let table = self
            .ir_table
            .ok_or(IrFault::new(FaultReason::IrTableAccess, index, false))?;
        if index >= table.entries {
            return Err(IrFault::new(FaultReason::IrIndexOverflow, index, false));
        }
        let irte = read_u128(&self.mem, table.base + u64::from(index) * IRTE_SIZE)
            .map(Irte::from)
            .map_err(|_| IrFault::new(FaultReason::IrTableAccess, index, false))?;
        // FPD is honoured whether or not the entry is present (VT-d §9.10).
        let fpd = irte.fpd();
        if !irte.p() {
            return Err(IrFault::new(FaultReason::IrEntryNotPresent, index, fpd));
        }
        if irte_reserved(irte, table.eime) {
            return Err(IrFault::new(FaultReason::IrEntryReserved, index, fpd));
        }
        if !source_ok(irte, rid.bdf) {
            return Err(IrFault::new(FaultReason::IrSourceInvalid, index, fpd));
        }
        Ok(compose(irte, table.eime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VtdConfig;
    use crate::spec::regs::FrcdHi;
    use crate::state::IrTable;
    use crate::test_util::TestMem;

    const IR_BASE: u64 = 0x20_0000;

    fn state(m: &TestMem, eime: bool, entries: u32) -> State {
        let config = VtdConfig {
            fault_records: 64,
            ..Default::default()
        };
        let mut s = State::new(&config, m.mem.clone());
        s.gsts.set_ires(true);
        s.gsts.set_irtps(true);
        s.ir_table = Some(IrTable {
            base: IR_BASE,
            entries,
            eime,
        });
        s
    }

    fn set_irte(m: &TestMem, index: u64, irte: Irte) {
        m.write_u128(IR_BASE + index * 16, irte.into_bits());
    }

    fn remappable(index: u32, shv: bool) -> u64 {
        RemappableAddr::new()
            .with_fee(0xfee)
            .with_remappable(true)
            .with_shv(shv)
            .with_handle_lo(index as u16 & 0x7fff)
            .with_handle_hi(index & 0x8000 != 0)
            .into_bits() as u64
    }

    fn rid(bdf: u16) -> RequesterId {
        RequesterId::new(0, bdf)
    }

    fn msg(address: u64, data: u32) -> MsiMessage {
        MsiMessage { address, data }
    }

    /// The reason of the most recent record.
    fn last(s: &State) -> u8 {
        let n = s.stats.faults_recorded as usize;
        FrcdHi::from(s.faults.read((n - 1) % s.faults.len(), 1)).fr()
    }

    fn irte() -> Irte {
        Irte::new()
            .with_p(true)
            .with_vector(0x31)
            .with_svt(svt::SID_SQ)
            .with_sid(0x0010)
    }

    #[test]
    fn x2apic_destination() {
        let m = TestMem::new();
        let mut s = state(&m, true, 256);
        set_irte(
            &m,
            5,
            irte()
                .with_dst(0x1234_5678)
                .with_dm(true)
                .with_rh(true)
                .with_tm(true)
                .with_dlm(1),
        );
        let out = s
            .remap_msi(rid(0x10), msg(remappable(5, false), 0))
            .unwrap();
        assert_eq!(out.address, (0x12_3456 << 40) | 0xfee7_800c);
        assert_eq!(out.data, 0x31 | (1 << 8) | (1 << 14) | (1 << 15));
    }

    #[test]
    fn xapic_destination_and_reserved_dst_bits() {
        let m = TestMem::new();
        let mut s = state(&m, false, 256);
        set_irte(&m, 1, irte().with_dst(0x0300));
        let out = s
            .remap_msi(rid(0x10), msg(remappable(1, false), 0))
            .unwrap();
        assert_eq!(out, msg(0xfee0_3000, 0x31));
        set_irte(&m, 2, irte().with_dst(0x0001_0300));
        assert!(s
            .remap_msi(rid(0x10), msg(remappable(2, false), 0))
            .is_err());
        assert_eq!(last(&s), 0x24);
    }

    #[test]
    fn subhandle_and_index_bit_15() {
        let m = TestMem::new();
        let mut s = state(&m, true, 1 << 16);
        set_irte(&m, 0x8003, irte().with_vector(0x44));
        let out = s
            .remap_msi(rid(0x10), msg(remappable(0x8001, true), 2))
            .unwrap();
        assert_eq!(out.data, 0x44);
        // IOAPIC-style message: RTE bits 63:48 in address 19:4, bit 11 in address 2.
        let ioapic_addr = 0xfee0_0000 | (((0x0003u64 << 1) | 1) << 4) | (1 << 2);
        assert_eq!(
            s.remap_msi(rid(0x10), msg(ioapic_addr, 0x44)).unwrap().data,
            0x44
        );
    }

    #[test]
    fn each_interrupt_fault_reason() {
        let m = TestMem::new();
        let mut s = state(&m, true, 16);
        let r = rid(0x10);
        let expect = |s: &mut State, m: MsiMessage, reason: u8| {
            assert!(s.remap_msi(r, m).is_err(), "{m:x?}");
            assert_eq!(last(s), reason, "{m:x?}");
        };
        // 0x20: not an interrupt address.
        expect(&mut s, msg(0xfed0_0000, 0), 0x20);
        expect(&mut s, msg(0x1_fee0_0010, 0), 0x20);
        // 0x21: index beyond IRTA.S; the entry is never read.
        expect(&mut s, msg(remappable(16, false), 0), 0x21);
        assert_eq!(s.faults.read(2, 0), 16 << 48);
        expect(&mut s, msg(remappable(15, true), 0xffff), 0x21);
        // 0x22: not present.
        expect(&mut s, msg(remappable(3, false), 0), 0x22);
        // 0x24: reserved bits, posted mode, SVT=11.
        set_irte(&m, 4, irte().with_rsvd0(1));
        set_irte(&m, 5, irte().with_im(true));
        set_irte(&m, 6, irte().with_svt(3));
        set_irte(&m, 7, irte().with_rsvd2(1));
        set_irte(&m, 9, irte().with_rsvd1(1));
        for i in [4, 5, 6, 7, 9] {
            expect(&mut s, msg(remappable(i, false), 0), 0x24);
        }
        // 0x25: compatibility format with CFIS clear, and with EIME set.
        expect(&mut s, msg(0xfee0_0000, 0x30), 0x25);
        s.gsts.set_cfis(true);
        expect(&mut s, msg(0xfee0_0000, 0x30), 0x25);
        s.ir_table.as_mut().unwrap().eime = false;
        assert_eq!(
            s.remap_msi(r, msg(0xfee0_0000, 0x30)).unwrap(),
            msg(0xfee0_0000, 0x30)
        );
        s.ir_table.as_mut().unwrap().eime = true;
        // 0x26: source id mismatch.
        set_irte(&m, 8, irte());
        assert!(s
            .remap_msi(rid(0x11), msg(remappable(8, false), 0))
            .is_err());
        assert_eq!(last(&s), 0x26);
        // 0x23: table beyond RAM, or no table latched.
        s.ir_table.as_mut().unwrap().base = 0x80_0000_0000;
        expect(&mut s, msg(remappable(1, false), 0), 0x23);
        s.ir_table = None;
        expect(&mut s, msg(remappable(1, false), 0), 0x23);
        assert_eq!(s.stats.faults_recorded, 15);
    }

    #[test]
    fn source_validation_qualifiers_and_bus_range() {
        let m = TestMem::new();
        let mut s = state(&m, true, 16);
        let base = irte().with_sid(0x0218);
        set_irte(&m, 0, base.with_sq(0));
        set_irte(&m, 1, base.with_sq(1));
        set_irte(&m, 2, base.with_sq(2));
        set_irte(&m, 3, base.with_sq(3));
        set_irte(&m, 4, base.with_svt(svt::BUS_RANGE).with_sid(0x0305));
        set_irte(&m, 5, base.with_svt(svt::NONE));
        let ok = |s: &mut State, bdf: u16, i: u32| {
            s.remap_msi(rid(bdf), msg(remappable(i, false), 0)).is_ok()
        };
        assert!(ok(&mut s, 0x0218, 0) && !ok(&mut s, 0x0219, 0));
        assert!(ok(&mut s, 0x021c, 1) && !ok(&mut s, 0x0219, 1));
        assert!(ok(&mut s, 0x021e, 2) && !ok(&mut s, 0x0219, 2));
        assert!(ok(&mut s, 0x021f, 3) && !ok(&mut s, 0x0220, 3));
        assert!(
            ok(&mut s, 0x0300, 4)
                && ok(&mut s, 0x05ff, 4)
                && !ok(&mut s, 0x0600, 4)
                && !ok(&mut s, 0x0218, 4)
        );
        assert!(ok(&mut s, 0xffff, 5));
    }

    #[test]
    fn fpd_in_irte() {
        let m = TestMem::new();
        let mut s = state(&m, true, 16);
        set_irte(&m, 0, Irte::new().with_fpd(true));
        set_irte(&m, 1, irte().with_fpd(true).with_sid(0x99));
        assert!(s
            .remap_msi(rid(0x10), msg(remappable(0, false), 0))
            .is_err());
        assert!(s
            .remap_msi(rid(0x10), msg(remappable(1, false), 0))
            .is_err());
        assert_eq!(s.stats.faults_suppressed, 2);
        assert_eq!(s.faults.fsts(), 0);
    }

    #[test]
    fn disabled_passes_everything() {
        let m = TestMem::new();
        let mut s = state(&m, true, 16);
        s.gsts.set_ires(false);
        let odd = msg(remappable(99, false), 7);
        assert_eq!(s.remap_msi(rid(0), odd).unwrap(), odd);
    }
}
