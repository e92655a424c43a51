//! Command queue consumption (IHI 0070 §3.5.2 "Command queue", chapter 4 "Commands",
//! §4.8 "Command errors").
//!
//! This SMMU caches no configuration or translations, so invalidations have nothing to
//! drop; they are still fully validated, because an illegal command must stop the
//! queue with CERROR_ILL exactly as hardware would.

use crate::irq::Pending;
use crate::irq::SmmuIrq;
use crate::mem::read_dwords;
use crate::queue::Queue;
use crate::spec::cmd::op;
use crate::spec::cmd::sync_cs;
use crate::spec::cmd::CmdCfgi1;
use crate::spec::cmd::CmdStream0;
use crate::spec::cmd::CmdSync0;
use crate::spec::cmd::CmdSync1;
use crate::spec::cmd::CmdTlbi0;
use crate::spec::cmd::CmdTlbi1;
use crate::spec::cmd::CMD_SIZE;
use crate::spec::regs::cerror;
use crate::spec::regs::Gerror;
use crate::state::State;
use iommu_common::MsiMessage;

/// The byte range a range TLBI covers (IHI 0070 §4.4.1, "Range invalidation"):
/// `(NUM + 1) * 2^SCALE` pages of the TG granule from `addr`. Returns `None` for a
/// non-range command (TG = 0) or when the range overflows 64 bits, in which case the
/// command acts on everything.
pub fn tlbi_range(addr: u64, num: u8, scale: u8, tg: u8) -> Option<(u64, u64)> {
    let page_shift: u32 = match tg {
        1 => 12,
        2 => 14,
        3 => 16,
        _ => return None,
    };
    let pages = (num as u64 + 1).checked_shl(scale as u32)?;
    if pages.leading_zeros() < page_shift {
        return None;
    }
    let len = pages << page_shift;
    let start = addr & !((1u64 << page_shift) - 1);
    start.checked_add(len).map(|_| (start, len))
}

/// Outcome of one command.
enum Exec {
    Done,
    Illegal,
}

impl State {
    /// The command queue's geometry.
    pub(crate) fn cmdq(&self) -> Queue {
        Queue {
            base: self.cmdq_base.addr() << 5,
            log2: self.cmdq_base.log2size().min(self.caps.cmdq_log2),
            entry: CMD_SIZE,
        }
    }

    /// Consumes commands until the queue is empty or a command fails. Bounded: at
    /// most one pass over the queue per call.
    pub(crate) fn process_cmdq(&mut self) {
        if !self.cr0.cmdqen() || self.gerror_active(Gerror::new().with_cmdq_err(true)) {
            return;
        }
        let q = self.cmdq();
        self.cmdq_cons = q.ptr(self.cmdq_cons);
        for _ in 0..q.len() {
            if q.is_empty(self.cmdq_prod, self.cmdq_cons) {
                return;
            }
            let addr = q.addr(self.cmdq_cons);
            let Ok(cmd) = read_dwords::<2>(&self.mem, addr) else {
                self.command_error(cerror::ABT);
                return;
            };
            match self.execute(cmd) {
                Exec::Done => {
                    self.stats.commands += 1;
                    self.cmdq_cons = q.inc(self.cmdq_cons);
                }
                Exec::Illegal => {
                    if self.log_limit.allow() {
                        tracing::warn!(
                            opcode = cmd[0] as u8,
                            cmd0 = cmd[0],
                            cmd1 = cmd[1],
                            "smmu: illegal command"
                        );
                    }
                    self.command_error(cerror::ILL);
                    return;
                }
            }
        }
    }

    /// Stops the queue on the failing command (CONS stays on it) and raises
    /// GERROR.CMDQ_ERR (IHI 0070 §4.8).
    fn command_error(&mut self, code: u8) {
        self.cmdq_err = code;
        self.raise_gerror(Gerror::new().with_cmdq_err(true));
    }

    fn sid_in_range(&self, sid: u32) -> bool {
        (sid as u64) >> self.caps.sid_bits == 0
    }

    fn execute(&mut self, cmd: [u64; 2]) -> Exec {
        let opcode = cmd[0] as u8;
        let s0 = CmdStream0::from_bits(cmd[0]);
        let s1p = self.caps.stage1;
        let s2p = self.caps.stage2;
        let ok = match opcode {
            op::PREFETCH_CONFIG | op::PREFETCH_ADDR => !s0.ssec(),
            op::CFGI_STE | op::CFGI_CD | op::CFGI_CD_ALL => {
                !s0.ssec() && self.sid_in_range(s0.sid())
            }
            op::CFGI_STE_RANGE => {
                // Range 31 is CFGI_ALL. Other ranges invalidate 2^(Range+1) StreamIDs
                // from the aligned-down StreamID; any Range is legal.
                let _ = CmdCfgi1::from_bits(cmd[1]).range();
                !s0.ssec()
            }
            op::TLBI_NH_ALL | op::TLBI_NH_ASID => s1p,
            op::TLBI_NH_VA | op::TLBI_NH_VAA => {
                let t0 = CmdTlbi0::from_bits(cmd[0]);
                let t1 = CmdTlbi1::from_bits(cmd[1]);
                let _ = tlbi_range(t1.addr() << 12, t0.num(), t0.scale(), t1.tg());
                s1p
            }
            op::TLBI_S2_IPA => {
                let t0 = CmdTlbi0::from_bits(cmd[0]);
                let t1 = CmdTlbi1::from_bits(cmd[1]);
                let _ = tlbi_range(t1.addr() << 12, t0.num(), t0.scale(), t1.tg());
                s2p
            }
            op::TLBI_S12_VMALL => s2p,
            op::TLBI_NSNH_ALL => true,
            op::SYNC => {
                self.sync(cmd);
                true
            }
            // Not advertised: EL2 (IDR0.HYP), EL3 (Secure), ATS, PRI, stalls, VMS.
            _ => false,
        };
        if !ok {
            return Exec::Illegal;
        }
        if opcode != op::SYNC && opcode != op::PREFETCH_CONFIG && opcode != op::PREFETCH_ADDR {
            self.stats.invalidations += 1;
        }
        Exec::Done
    }

    /// CMD_SYNC: everything before it is complete (there is nothing outstanding), so
    /// signal at once (IHI 0070 §4.7.3).
    fn sync(&mut self, cmd: [u64; 2]) {
        self.stats.syncs += 1;
        let s0 = CmdSync0::from_bits(cmd[0]);
        match s0.cs() {
            sync_cs::SIG_IRQ => {
                let addr = CmdSync1::from_bits(cmd[1]).msiaddr() << 2;
                if self.caps.msi && addr != 0 {
                    self.pending.push(Pending::Msi(
                        SmmuIrq::CmdSync,
                        MsiMessage {
                            address: addr,
                            data: s0.msidata(),
                        },
                    ));
                }
            }
            sync_cs::SIG_SEV => self.pending.push(Pending::Sev),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_basic() {
        assert_eq!(
            tlbi_range(0x1234_5000, 0, 0, 1),
            Some((0x1234_5000, 0x1000))
        );
        assert_eq!(
            tlbi_range(0x1234_5000, 3, 2, 2),
            Some((0x1234_4000, 16 << 14))
        );
        assert_eq!(tlbi_range(0x10_0000, 0, 0, 0), None);
    }

    /// Hostile: NUM/SCALE/TG combinations whose products overflow 32 or 64 bits and
    /// non-power-of-two page counts never panic.
    #[test]
    fn hostile_ranges() {
        for tg in 0..4u8 {
            for scale in 0..32u8 {
                for num in [0u8, 1, 2, 30, 31] {
                    for addr in [0u64, 0xffff_ffff_ffff_f000, 0x8000_0000_0000_0000] {
                        if let Some((start, len)) = tlbi_range(addr, num, scale, tg) {
                            assert!(start.checked_add(len).is_some());
                        }
                    }
                }
            }
        }
        // 3 pages (not a power of two) of 64K.
        assert_eq!(tlbi_range(0x30000, 2, 0, 3), Some((0x30000, 3 << 16)));
        // 32 << 31 pages of 64K overflows past the top of the address space from a
        // high start: treated as "everything".
        assert_eq!(tlbi_range(0xffff_0000_0000_0000, 31, 31, 3), None);
    }
}
