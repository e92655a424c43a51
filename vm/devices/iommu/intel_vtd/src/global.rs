//! The global command register (VT-d §11.4, GCMD_REG / GSTS_REG; §10.4.4 in rev 3).
//!
//! The spec asks software to change one command per GCMD write. This unit handles
//! every command a write carries, in a fixed order: the one-shot commands first
//! (SRTP, SIRTP, WBF), then the toggles compared with GSTS (QIE, IRE, CFI, TE). So
//! a write that sets SRTP and TE together latches the root table before enabling
//! translation, and a driver that keeps a shadow of its enabled toggles (as Linux's
//! `iommu->gcmd` does) gets exactly the one change it asked for.

use crate::mem::page_addr_mask;
use crate::spec::regs::Gcmd;
use crate::spec::regs::Irta;
use crate::state::IrTable;
use crate::state::State;

impl State {
    /// RTADDR writable bits: the root table base below the HAW (TTM is RsvdZ:
    /// only legacy mode exists here).
    pub(crate) fn rtaddr_mask(&self) -> u64 {
        page_addr_mask(self.caps.haw())
    }

    /// IRTA writable bits: base below the HAW, EIME with ECAP.EIM, and S.
    pub(crate) fn irta_mask(&self) -> u64 {
        if !self.caps.ecap.ir() {
            return 0;
        }
        page_addr_mask(self.caps.haw())
            | Irta::new()
                .with_eime(self.caps.ecap.eim())
                .with_s(0xf)
                .into_bits()
    }

    /// A write to GCMD.
    pub(crate) fn write_gcmd(&mut self, val: u32) {
        let cmd = Gcmd::from(val);
        let ir = self.caps.ecap.ir();
        if cmd.srtp() {
            self.root_table = Some(self.rtaddr & self.rtaddr_mask());
            self.gsts.set_rtps(true);
            self.iotlb_cache.clear();
        }
        if cmd.sirtp() && ir {
            let irta = Irta::from(self.irta);
            self.ir_table = Some(IrTable {
                base: irta.irta() << 12,
                entries: 2 << irta.s(),
                eime: irta.eime(),
            });
            self.gsts.set_irtps(true);
            self.effects.remap_changed = true;
        }
        // WBF: nothing is buffered (CAP.RWBF = 0), so the flush is complete at once
        // and GSTS.WBFS never reads 1. SFL/EAFL: no advanced fault log (CAP.AFL = 0).
        if cmd.qie() != self.gsts.qies() {
            self.set_queue_enabled(cmd.qie());
        }
        if ir && cmd.ire() != self.gsts.ires() {
            self.gsts.set_ires(cmd.ire());
            self.effects.remap_changed = true;
        }
        if ir && cmd.cfi() != self.gsts.cfis() {
            self.gsts.set_cfis(cmd.cfi());
            self.effects.remap_changed = true;
        }
        if cmd.te() != self.gsts.tes() {
            self.gsts.set_tes(cmd.te());
            self.iotlb_cache.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::VtdConfig;
    use crate::spec::regs::Gcmd;
    use crate::state::IrTable;
    use crate::state::State;
    use crate::test_util::TestMem;

    fn state(config: VtdConfig) -> State {
        State::new(&config, TestMem::new().mem)
    }

    #[test]
    fn one_shots_latch_pointers() {
        let mut s = state(VtdConfig::default());
        s.rtaddr = 0x1234_5000;
        s.irta = 0x5000_0000 | (1 << 11) | 0xf;
        s.write_gcmd(Gcmd::new().with_srtp(true).into_bits());
        assert_eq!(s.root_table, Some(0x1234_5000));
        assert!(s.gsts.rtps() && !s.gsts.irtps());
        assert!(!s.effects.remap_changed);
        s.write_gcmd(Gcmd::new().with_sirtp(true).into_bits());
        assert_eq!(
            s.ir_table,
            Some(IrTable {
                base: 0x5000_0000,
                entries: 1 << 16,
                eime: true
            })
        );
        assert!(s.effects.remap_changed);
        // The latched pointer stays until the next SRTP.
        s.rtaddr = 0x9000;
        assert_eq!(s.root_table, Some(0x1234_5000));
        s.write_gcmd(Gcmd::new().with_wbf(true).into_bits());
        assert!(!s.gsts.wbfs());
    }

    #[test]
    fn several_commands_in_one_write() {
        let mut s = state(VtdConfig::default());
        s.rtaddr = 0x4000;
        s.irta = 0x8000;
        // All one-shots at once: each happens.
        s.write_gcmd(
            Gcmd::new()
                .with_srtp(true)
                .with_sirtp(true)
                .with_wbf(true)
                .with_sfl(true)
                .into_bits(),
        );
        assert!(s.gsts.rtps() && s.gsts.irtps() && !s.gsts.fls());
        assert_eq!(s.root_table, Some(0x4000));
        assert_eq!(s.ir_table.unwrap().entries, 2);
        // Toggles together with a one-shot: the pointer is latched first.
        s.rtaddr = 0x6000;
        s.write_gcmd(
            Gcmd::new()
                .with_srtp(true)
                .with_te(true)
                .with_ire(true)
                .with_qie(true)
                .with_cfi(true)
                .into_bits(),
        );
        assert!(s.gsts.tes() && s.gsts.ires() && s.gsts.qies() && s.gsts.cfis());
        assert_eq!(s.root_table, Some(0x6000));
        // A shadow write (toggles unchanged) plus one new toggle changes only that.
        s.write_gcmd(
            Gcmd::new()
                .with_te(true)
                .with_ire(true)
                .with_qie(true)
                .into_bits(),
        );
        assert!(s.gsts.tes() && s.gsts.ires() && s.gsts.qies() && !s.gsts.cfis());
        // Writing zero turns everything off; latched pointers stay latched.
        s.write_gcmd(0);
        assert_eq!(s.gsts.into_bits(), (1 << 30) | (1 << 24));
    }

    #[test]
    fn te_before_srtp_enables_with_no_root() {
        let mut s = state(VtdConfig::default());
        s.write_gcmd(Gcmd::new().with_te(true).into_bits());
        assert!(s.gsts.tes() && !s.gsts.rtps());
        assert_eq!(s.root_table, None);
    }

    #[test]
    fn ir_commands_ignored_without_intremap() {
        let mut s = state(VtdConfig {
            intremap: false,
            eim: false,
            ..Default::default()
        });
        s.write_gcmd(Gcmd::new().with_sirtp(true).into_bits());
        s.write_gcmd(Gcmd::new().with_ire(true).with_cfi(true).into_bits());
        assert!(!s.gsts.irtps() && !s.gsts.ires() && !s.gsts.cfis());
        assert_eq!(s.irta_mask(), 0);
        assert!(!s.effects.remap_changed);
    }
}
