//! MMIO decode of the register page (VT-d §11.2, "Software Access to Registers").
//!
//! * 32-bit registers take aligned 4-byte accesses. An aligned 8-byte access that
//!   covers two 32-bit registers (or a 32-bit register and a hole) acts as two 4-byte
//!   accesses, low dword first.
//! * 64-bit registers take aligned 8-byte accesses or aligned 4-byte accesses to
//!   either half. Commands in a 64-bit register run when the dword holding their
//!   trigger is written: the upper dword for CCMD.ICC and IOTLB.IVT, the lower for
//!   IQT, the upper for FRCD.F (which Linux clears with a 4-byte write).
//! * Any other access (1 or 2 bytes, misaligned, other sizes, past the page) is
//!   ignored: reads return zeros, writes do nothing. Holes read as zero.

use crate::spec::regs;
use crate::state::State;

/// The 64-bit register at qword-aligned offset `base`, if any.
fn is_reg64(state: &State, base: u64) -> bool {
    matches!(
        base,
        regs::CAP
            | regs::ECAP
            | regs::RTADDR
            | regs::CCMD
            | regs::IQH
            | regs::IQT
            | regs::IQA
            | regs::IRTA
            | regs::IVA
            | regs::IOTLB
    ) || frcd_slot(state, base).is_some()
}

/// The (record, half) a qword-aligned offset names in the fault recording registers.
fn frcd_slot(state: &State, base: u64) -> Option<(usize, usize)> {
    let rel = base.checked_sub(regs::FRCD_BASE)?;
    let index = usize::try_from(rel / regs::FRCD_SIZE).ok()?;
    (index < state.faults.len()).then_some((index, ((rel / 8) & 1) as usize))
}

/// Merges the bytes of `val` selected by `mask` into `old`.
fn merge(old: u64, val: u64, mask: u64) -> u64 {
    (old & !mask) | (val & mask)
}

const LO: u64 = 0xffff_ffff;
const HI: u64 = !LO;

impl State {
    fn reg64(&self, base: u64) -> u64 {
        match base {
            regs::CAP => self.caps.cap.into_bits(),
            regs::ECAP => self.caps.ecap.into_bits(),
            regs::RTADDR => self.rtaddr,
            regs::CCMD => self.ccmd,
            regs::IQH => self.queue.iqh(),
            regs::IQT => self.queue.iqt,
            regs::IQA => self.queue.iqa,
            regs::IRTA => self.irta,
            regs::IVA => self.iva,
            regs::IOTLB => self.iotlb,
            _ => frcd_slot(self, base).map_or(0, |(i, half)| self.faults.read(i, half)),
        }
    }

    /// Writes the bytes of `val` selected by `mask` (LO, HI or both) to the 64-bit
    /// register at `base`.
    fn write_reg64(&mut self, base: u64, val: u64, mask: u64) {
        match base {
            regs::RTADDR => self.rtaddr = merge(self.rtaddr, val, mask) & self.rtaddr_mask(),
            regs::CCMD => self.write_ccmd(merge(self.ccmd, val, mask), mask & HI != 0),
            regs::IQT => {
                let v = merge(self.queue.iqt, val, mask);
                if mask & LO != 0 {
                    self.write_iqt(v);
                }
            }
            regs::IQA => self.queue.iqa = merge(self.queue.iqa, val, mask) & self.iqa_mask(),
            regs::IRTA => self.irta = merge(self.irta, val, mask) & self.irta_mask(),
            regs::IVA => {
                let writable = crate::spec::regs::Iva::new()
                    .with_am(0x3f)
                    .with_ih(true)
                    .with_addr(u64::MAX >> 12)
                    .into_bits();
                self.iva = merge(self.iva, val, mask) & writable;
            }
            regs::IOTLB => self.write_iotlb(merge(self.iotlb, val, mask), mask & HI != 0),
            _ => {
                if let Some((i, 1)) = frcd_slot(self, base) {
                    self.faults.write_hi(i, val & mask);
                }
                // CAP, ECAP, IQH and FRCD low halves are read-only.
            }
        }
    }

    fn read32(&self, offset: u64) -> u32 {
        let base = offset & !7;
        if is_reg64(self, base) {
            return (self.reg64(base) >> ((offset & 4) * 8)) as u32;
        }
        match offset {
            regs::VER => regs::VERSION,
            regs::GSTS => self.gsts.into_bits(),
            regs::FSTS => self.faults.fsts(),
            regs::FECTL => self.faults.event.ctl(),
            regs::FEDATA => self.faults.event.data,
            regs::FEADDR => self.faults.event.addr,
            regs::FEUADDR => self.faults.event.uaddr,
            regs::PMEN => crate::spec::regs::Pmen::new()
                .with_epm(self.pmen_epm)
                .with_prs(self.pmen_epm)
                .into_bits(),
            regs::ICS => u32::from(self.iwc),
            regs::IECTL => self.inv_event.ctl(),
            regs::IEDATA => self.inv_event.data,
            regs::IEADDR => self.inv_event.addr,
            regs::IEUADDR => self.inv_event.uaddr,
            // GCMD is write-only; everything else is a hole or unimplemented.
            _ => 0,
        }
    }

    fn write32(&mut self, offset: u64, val: u32) {
        let base = offset & !7;
        if is_reg64(self, base) {
            let shift = (offset & 4) * 8;
            self.write_reg64(base, u64::from(val) << shift, LO << shift);
            return;
        }
        match offset {
            regs::GCMD => self.write_gcmd(val),
            regs::FSTS => self.write_fsts_reg(val),
            regs::FECTL => self.faults.event.write_ctl(val, &mut self.effects.msis),
            regs::FEDATA => self.faults.event.write_data(val),
            regs::FEADDR => self.faults.event.write_addr(val),
            regs::FEUADDR => self.faults.event.write_uaddr(val),
            regs::PMEN => self.pmen_epm = crate::spec::regs::Pmen::from(val).epm(),
            regs::ICS if val & regs::ICS_IWC != 0 => {
                self.iwc = false;
                self.inv_event.conditions_cleared();
            }
            regs::IECTL => self.inv_event.write_ctl(val, &mut self.effects.msis),
            regs::IEDATA => self.inv_event.write_data(val),
            regs::IEADDR => self.inv_event.write_addr(val),
            regs::IEUADDR => self.inv_event.write_uaddr(val),
            // VER, GSTS and holes are read-only.
            _ => {}
        }
    }

    /// A write to FSTS; clearing IQE lets the queue run again.
    pub(crate) fn write_fsts_reg(&mut self, val: u32) {
        if self.faults.write_fsts(val) {
            self.process_queue();
        }
    }

    fn bad_access(&mut self, offset: u64, len: usize, write: bool) {
        self.stats.bad_accesses += 1;
        if self.log.allow() {
            tracing::warn!(
                offset,
                len,
                write,
                "intel-vtd: unsupported register access ignored"
            );
        }
    }

    /// A guest read of `data.len()` bytes at `offset`.
    pub(crate) fn mmio_read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let in_page = offset
            .checked_add(data.len() as u64)
            .is_some_and(|end| end <= regs::REG_PAGE_SIZE);
        match data.len() {
            4 if in_page && offset % 4 == 0 => {
                data.copy_from_slice(&self.read32(offset).to_le_bytes());
            }
            8 if in_page && offset % 8 == 0 => {
                let v = if is_reg64(self, offset) {
                    self.reg64(offset)
                } else {
                    u64::from(self.read32(offset)) | (u64::from(self.read32(offset + 4)) << 32)
                };
                data.copy_from_slice(&v.to_le_bytes());
            }
            len => self.bad_access(offset, len, false),
        }
    }

    /// A guest write of `data` at `offset`.
    pub(crate) fn mmio_write(&mut self, offset: u64, data: &[u8]) {
        let in_page = offset
            .checked_add(data.len() as u64)
            .is_some_and(|end| end <= regs::REG_PAGE_SIZE);
        match *data {
            [a, b, c, d] if in_page && offset % 4 == 0 => {
                self.write32(offset, u32::from_le_bytes([a, b, c, d]));
            }
            [a, b, c, d, e, f, g, h] if in_page && offset % 8 == 0 => {
                let v = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
                if is_reg64(self, offset) {
                    self.write_reg64(offset, v, u64::MAX);
                } else {
                    self.write32(offset, v as u32);
                    self.write32(offset + 4, (v >> 32) as u32);
                }
            }
            _ => self.bad_access(offset, data.len(), true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VtdConfig;
    use crate::test_util::TestMem;

    fn state(config: VtdConfig) -> State {
        State::new(&config, TestMem::new().mem)
    }

    fn r32(s: &mut State, off: u64) -> u32 {
        let mut b = [0; 4];
        s.mmio_read(off, &mut b);
        u32::from_le_bytes(b)
    }

    fn r64(s: &mut State, off: u64) -> u64 {
        let mut b = [0; 8];
        s.mmio_read(off, &mut b);
        u64::from_le_bytes(b)
    }

    fn w32(s: &mut State, off: u64, v: u32) {
        s.mmio_write(off, &v.to_le_bytes());
    }

    fn w64(s: &mut State, off: u64, v: u64) {
        s.mmio_write(off, &v.to_le_bytes());
    }

    #[test]
    fn reset_values() {
        let mut s = state(VtdConfig::default());
        assert_eq!(r32(&mut s, regs::VER), 0x10);
        assert_eq!(r64(&mut s, regs::CAP), s.caps.cap.into_bits());
        assert_eq!(r64(&mut s, regs::ECAP), s.caps.ecap.into_bits());
        assert_eq!(
            r32(&mut s, regs::CAP + 4),
            (s.caps.cap.into_bits() >> 32) as u32
        );
        assert_eq!(r32(&mut s, regs::GSTS), 0);
        assert_eq!(r32(&mut s, regs::FSTS), 0);
        assert_eq!(r32(&mut s, regs::FECTL), 1 << 31);
        assert_eq!(r32(&mut s, regs::IECTL), 1 << 31);
        for off in [
            regs::RTADDR,
            regs::CCMD,
            regs::IQH,
            regs::IQT,
            regs::IQA,
            regs::IRTA,
            regs::IVA,
            regs::IOTLB,
        ] {
            assert_eq!(r64(&mut s, off), 0, "{off:#x}");
        }
        for i in 0..8 {
            assert_eq!(r64(&mut s, regs::FRCD_BASE + i * 16 + 8), 0);
        }
    }

    #[test]
    fn read_only_and_write_only_registers() {
        let mut s = state(VtdConfig::default());
        let cap = r64(&mut s, regs::CAP);
        w64(&mut s, regs::CAP, 0);
        w64(&mut s, regs::ECAP, 0);
        w32(&mut s, regs::VER, 0);
        w32(&mut s, regs::GSTS, u32::MAX);
        w64(&mut s, regs::IQH, u64::MAX);
        assert_eq!(r64(&mut s, regs::CAP), cap);
        assert_eq!(r32(&mut s, regs::VER), 0x10);
        assert_eq!(r32(&mut s, regs::GSTS), 0);
        assert_eq!(r64(&mut s, regs::IQH), 0);
        // GCMD reads as zero.
        w32(&mut s, regs::GCMD, 1 << 31);
        assert_eq!(r32(&mut s, regs::GCMD), 0);
        assert_eq!(r32(&mut s, regs::GSTS), 1 << 31);
    }

    #[test]
    fn rw_masks() {
        let mut s = state(VtdConfig::default());
        w64(&mut s, regs::RTADDR, u64::MAX);
        assert_eq!(r64(&mut s, regs::RTADDR), 0xffff_ffff_f000);
        w64(&mut s, regs::IQA, u64::MAX);
        assert_eq!(r64(&mut s, regs::IQA), 0xffff_ffff_f007, "DW is RsvdZ");
        w64(&mut s, regs::IRTA, u64::MAX);
        assert_eq!(r64(&mut s, regs::IRTA), 0xffff_ffff_f80f);
        w64(&mut s, regs::IVA, u64::MAX);
        assert_eq!(r64(&mut s, regs::IVA), !0xf80);
        w64(&mut s, regs::IQT, u64::MAX);
        assert_eq!(r64(&mut s, regs::IQT), 0x7fff0);
        w32(&mut s, regs::FEDATA, u32::MAX);
        w32(&mut s, regs::FEADDR, u32::MAX);
        w32(&mut s, regs::FEUADDR, u32::MAX);
        assert_eq!(r32(&mut s, regs::FEDATA), 0xffff);
        assert_eq!(r32(&mut s, regs::FEADDR), 0xffff_fffc);
        assert_eq!(r32(&mut s, regs::FEUADDR), u32::MAX);
        w32(&mut s, regs::FECTL, u32::MAX);
        assert_eq!(r32(&mut s, regs::FECTL), 1 << 31, "IP is read-only");
        w32(&mut s, regs::PMEN, u32::MAX);
        assert_eq!(r32(&mut s, regs::PMEN), (1 << 31) | 1);
        w32(&mut s, regs::PMEN, 0);
        assert_eq!(r32(&mut s, regs::PMEN), 0);
        // Without EIM the upper address registers are RsvdZ; without IR, IRTA is.
        let mut s = state(VtdConfig {
            eim: false,
            ..Default::default()
        });
        w32(&mut s, regs::FEUADDR, 1);
        w32(&mut s, regs::IEUADDR, 1);
        assert_eq!(
            (r32(&mut s, regs::FEUADDR), r32(&mut s, regs::IEUADDR)),
            (0, 0)
        );
        w64(&mut s, regs::IRTA, u64::MAX);
        assert_eq!(
            r64(&mut s, regs::IRTA),
            0xffff_ffff_f00f,
            "EIME is RsvdZ without EIM"
        );
        let mut s = state(VtdConfig {
            intremap: false,
            eim: false,
            aw_bits: 39,
            ..Default::default()
        });
        w64(&mut s, regs::IRTA, u64::MAX);
        assert_eq!(r64(&mut s, regs::IRTA), 0);
        w64(&mut s, regs::RTADDR, u64::MAX);
        assert_eq!(r64(&mut s, regs::RTADDR), 0x7f_ffff_f000);
    }

    #[test]
    fn dword_halves_of_64_bit_registers() {
        let mut s = state(VtdConfig::default());
        w32(&mut s, regs::RTADDR, 0x1234_5678);
        w32(&mut s, regs::RTADDR + 4, 0x9a);
        assert_eq!(r64(&mut s, regs::RTADDR), 0x9a_1234_5000);
        assert_eq!(r32(&mut s, regs::RTADDR + 4), 0x9a);
        // CCMD runs on the upper dword write.
        w32(&mut s, regs::CCMD, 0x5);
        assert_eq!(r64(&mut s, regs::CCMD), 5);
        w32(&mut s, regs::CCMD + 4, 0xa000_0000);
        assert_eq!(r64(&mut s, regs::CCMD) >> 59, 0b0101);
        // IOTLB too.
        w32(&mut s, regs::IOTLB + 4, 0x9000_0000);
        assert_eq!(r32(&mut s, regs::IOTLB + 4) >> 25, 0b0001001);
    }

    #[test]
    fn split_and_bad_accesses() {
        let mut s = state(VtdConfig::default());
        // 8-byte write over FEDATA+FEADDR (offset 0x3c is not qword-aligned) is
        // ignored; over FECTL+FEDATA it acts as two dword writes.
        w64(&mut s, regs::FEDATA, 0xfee0_0000_0000_0041);
        assert_eq!(r32(&mut s, regs::FEDATA), 0);
        w64(&mut s, regs::FECTL, 0x0000_0041_0000_0000);
        assert_eq!(r32(&mut s, regs::FECTL), 0);
        assert_eq!(r32(&mut s, regs::FEDATA), 0x41);
        assert_eq!(r64(&mut s, regs::FECTL), 0x41 << 32);
        // 8-byte read of GCMD+GSTS.
        w32(&mut s, regs::GCMD, 1 << 31);
        assert_eq!(r64(&mut s, regs::GCMD), 1 << 63);
        // 1- and 2-byte, misaligned, odd-sized and out-of-page accesses.
        let before = s.stats.bad_accesses;
        s.mmio_write(regs::FEDATA, &[0x99]);
        s.mmio_write(regs::FEDATA, &[0x99, 0]);
        s.mmio_write(regs::FEDATA + 1, &[1, 2, 3, 4]);
        s.mmio_write(regs::RTADDR + 4, &[0xff; 8]);
        s.mmio_write(regs::FEDATA, &[1; 16]);
        s.mmio_write(regs::FEDATA, &[]);
        s.mmio_write(0x1000, &[1; 4]);
        s.mmio_write(u64::MAX - 3, &[1; 4]);
        s.mmio_write(u64::MAX - 7, &[1; 8]);
        assert_eq!(r32(&mut s, regs::FEDATA), 0x41);
        assert_eq!(r64(&mut s, regs::RTADDR), 0);
        let mut b = [0xaa; 2];
        s.mmio_read(regs::VER, &mut b);
        assert_eq!(b, [0, 0]);
        let mut b = [0xaa; 4];
        s.mmio_read(regs::CAP + 2, &mut b);
        assert_eq!(b, [0; 4]);
        s.mmio_read(u64::MAX - 1, &mut b);
        let mut b = [0xaa; 8];
        s.mmio_read(regs::CAP + 4, &mut b);
        assert_eq!(b, [0; 8]);
        assert_eq!(s.stats.bad_accesses - before, 13);
        // Holes and registers past the last FRCD read zero and ignore writes.
        for off in [0x30, 0x48, 0x58, 0x64 + 0x100, 0xb0, 0xf00, 0xffc] {
            w32(&mut s, off, u32::MAX);
            assert_eq!(r32(&mut s, off), 0, "{off:#x}");
        }
    }

    #[test]
    fn frcd_rw1c_through_mmio() {
        let mut s = state(VtdConfig::default());
        s.report_fault(
            crate::fault::Fault {
                reason: crate::spec::fault::FaultReason::Read,
                sid: 0x10,
                info: 0x5000,
                read: true,
            },
            false,
        );
        assert_eq!(r32(&mut s, regs::FSTS), 2);
        let hi = regs::FRCD_BASE + 8;
        // Writes to the low qword and to the non-F bits are ignored.
        w64(&mut s, regs::FRCD_BASE, 0);
        w32(&mut s, hi, u32::MAX);
        assert_eq!(r64(&mut s, regs::FRCD_BASE), 0x5000);
        assert_eq!(r32(&mut s, hi), 0x10);
        // Linux clears F with a dword write to offset 12.
        w32(&mut s, hi + 4, 1 << 31);
        assert_eq!(r32(&mut s, hi + 4), (1 << 30) | 6, "only F clears");
        assert_eq!(r32(&mut s, regs::FSTS), 0);
        // ICS.IWC is RW1C.
        s.iwc = true;
        w32(&mut s, regs::ICS, 0);
        assert_eq!(r32(&mut s, regs::ICS), 1);
        w32(&mut s, regs::ICS, 1);
        assert_eq!(r32(&mut s, regs::ICS), 0);
    }
}
