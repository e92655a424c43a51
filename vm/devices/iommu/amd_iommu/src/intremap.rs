//! Interrupt remapping (#48882 §2.2.5): the message type in MSI data bits 10:8 picks
//! the DTE control that applies; fixed and arbitrated interrupts index the device's
//! interrupt remapping table with MSI data bits 10:0.

use crate::devtab;
use crate::devtab::Dte;
use crate::devtab::DteFetchError;
use crate::spec::dte::int_ctl;
use crate::spec::dte::SYSMGT_PASS;
use crate::spec::event::code;
use crate::spec::event::flags;
use crate::spec::event::Event;
use crate::spec::irte::int_type;
use crate::spec::irte::msg_type;
use crate::spec::irte::Irte128Hi;
use crate::spec::irte::Irte128Lo;
use crate::spec::irte::Irte32;
use crate::spec::irte::IRTE128_SIZE;
use crate::spec::irte::IRTE32_SIZE;
use crate::spec::irte::MSI_DATA_OFFSET_MASK;
use crate::state::x86_msi;
use crate::state::State;
use iommu_common::MsiMessage;
use iommu_common::RequesterId;

/// MSI data bits kept from the original message: trigger mode (15) and level (14).
const TRIGGER_BITS: u32 = 0xc000;

/// The IRTE decoded to what the remapped message needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemapTarget {
    pub dest: u32,
    pub logical: bool,
    pub vector: u8,
    pub delivery: u8,
}

/// Why an IRTE lookup failed.
enum IrteFault {
    /// Logged as IO_PAGE_FAULT (I = 1) unless suppressed; `rz` marks reserved or
    /// illegal contents, `pr` an entry that was present.
    Fault {
        pr: bool,
        rz: bool,
        suppressed: bool,
    },
    /// The IRTE could not be read (PAGE_TAB_HARDWARE_ERROR, I = 1).
    ReadError { addr: u64 },
}

impl State {
    /// Remaps `msg` from `requester`, logging the architectural event when it is
    /// blocked. `None` = blocked.
    pub fn remap_msi(&mut self, requester: RequesterId, msg: MsiMessage) -> Option<MsiMessage> {
        self.stats.remaps += 1;
        let out = self.remap_inner(requester, msg);
        if out.is_none() {
            self.stats.remaps_blocked += 1;
            if self.log_limit.allow() {
                tracing::debug!(%requester, address = msg.address, data = msg.data, "amd-iommu: interrupt blocked");
            }
        }
        out
    }

    fn remap_inner(&mut self, requester: RequesterId, msg: MsiMessage) -> Option<MsiMessage> {
        if requester.segment != self.config.segment {
            return None;
        }
        if !self.config.intremap || !self.ctrl().iommu_en() {
            return Some(msg);
        }
        let devid = requester.bdf;
        let dte = match devtab::fetch(&self.mem, self.dev_table(), devid) {
            Ok(d) => d,
            Err(DteFetchError::OutOfTable) => {
                self.interrupt_event(code::ILLEGAL_DEV_TABLE_ENTRY, devid, 0, msg.address);
                return None;
            }
            Err(DteFetchError::ReadError { addr }) => {
                self.interrupt_event(code::DEV_TAB_HARDWARE_ERROR, devid, 0, addr);
                return None;
            }
        };
        let q2 = dte.q2();
        // #48882 §2.2.2: V = 0 or IV = 0 forwards interrupts unmapped.
        if !dte.q0().v() || !q2.iv() {
            return Some(msg);
        }
        if dte.interrupt_illegal() {
            self.interrupt_event(code::ILLEGAL_DEV_TABLE_ENTRY, devid, flags::RZ, msg.address);
            return None;
        }
        let ignore = q2.ig();
        let mt = ((msg.data >> 8) & 7) as u8;
        let pass = match mt {
            msg_type::FIXED | msg_type::ARBITRATED => match q2.int_ctl() {
                int_ctl::PASS => true,
                int_ctl::REMAP => return self.remap_fixed(devid, &dte, msg),
                _ => false,
            },
            msg_type::SMI => dte.q1().sys_mgt() == SYSMGT_PASS,
            msg_type::NMI => q2.nmi_pass(),
            msg_type::INIT => q2.init_pass(),
            msg_type::EXTINT => q2.eint_pass(),
            _ => false,
        };
        if pass {
            return Some(msg);
        }
        if !ignore {
            self.interrupt_event(code::IO_PAGE_FAULT, devid, 0, msg.address);
        }
        None
    }

    fn remap_fixed(&mut self, devid: u16, dte: &Dte, msg: MsiMessage) -> Option<MsiMessage> {
        let index = msg.data & MSI_DATA_OFFSET_MASK;
        match self.read_irte(dte, index) {
            Ok(t) => Some(x86_msi(
                t.dest,
                t.logical,
                t.vector,
                (u32::from(t.delivery) << 8) | (msg.data & TRIGGER_BITS),
            )),
            Err(IrteFault::Fault { pr, rz, suppressed }) => {
                if !suppressed && !dte.q2().ig() {
                    let f = if pr { flags::PR } else { 0 } | if rz { flags::RZ } else { 0 };
                    self.interrupt_event(code::IO_PAGE_FAULT, devid, f, msg.address);
                }
                None
            }
            Err(IrteFault::ReadError { addr }) => {
                self.interrupt_event(code::PAGE_TAB_HARDWARE_ERROR, devid, 0, addr);
                None
            }
        }
    }

    /// Reads and decodes IRTE `index` of the device's table (#48882 §2.2.5.1,
    /// §2.2.5.2). The index is checked against IntTabLen before anything is read.
    fn read_irte(&self, dte: &Dte, index: u32) -> Result<RemapTarget, IrteFault> {
        if index >= dte.irt_entries() {
            return Err(IrteFault::Fault {
                pr: false,
                rz: false,
                suppressed: false,
            });
        }
        let ctrl = self.ctrl();
        let table = dte.q2().int_table_address();
        if ctrl.ga_en() {
            let addr = table.wrapping_add(u64::from(index) * IRTE128_SIZE);
            let raw: [u64; 2] = self
                .mem
                .read_plain(addr)
                .map_err(|_| IrteFault::ReadError { addr })?;
            let lo = Irte128Lo::from_bits(raw[0]);
            let hi = Irte128Hi::from_bits(raw[1]);
            if !lo.remap_en() {
                return Err(IrteFault::Fault {
                    pr: false,
                    rz: false,
                    suppressed: lo.sup_iopf(),
                });
            }
            // Guest virtual APIC mode is not advertised (GAMSup = 0).
            if lo.guest_mode() || !legal_int_type(lo.int_type()) {
                return Err(IrteFault::Fault {
                    pr: true,
                    rz: true,
                    suppressed: lo.sup_iopf(),
                });
            }
            let dest = if self.config.xtsup && ctrl.xt_en() {
                lo.destination_lo() | (u32::from(hi.destination_hi()) << 24)
            } else {
                lo.destination_lo() & 0xff
            };
            Ok(RemapTarget {
                dest,
                logical: lo.dm(),
                vector: hi.vector(),
                delivery: lo.int_type(),
            })
        } else {
            let addr = table.wrapping_add(u64::from(index) * IRTE32_SIZE);
            let raw: u32 = self
                .mem
                .read_plain(addr)
                .map_err(|_| IrteFault::ReadError { addr })?;
            let e = Irte32::from_bits(raw);
            if !e.remap_en() {
                return Err(IrteFault::Fault {
                    pr: false,
                    rz: false,
                    suppressed: e.sup_iopf(),
                });
            }
            if !legal_int_type(e.int_type()) || e.guest_mode() || raw >> 24 != 0 {
                return Err(IrteFault::Fault {
                    pr: true,
                    rz: true,
                    suppressed: e.sup_iopf(),
                });
            }
            Ok(RemapTarget {
                dest: e.destination().into(),
                logical: e.dm(),
                vector: e.vector(),
                delivery: e.int_type(),
            })
        }
    }

    fn interrupt_event(&mut self, code: u8, devid: u16, extra: u16, address: u64) {
        self.log_event(Event {
            code,
            device_id: devid,
            domain_or_pasid: 0,
            flags: flags::I | flags::RW | extra,
            address,
        });
    }
}

/// IntType encodings with a defined meaning (#48882 §2.2.5.1).
fn legal_int_type(t: u8) -> bool {
    matches!(
        t,
        int_type::FIXED
            | int_type::ARBITRATED
            | int_type::SMI
            | int_type::NMI
            | int_type::INIT
            | int_type::EXTINT
    )
}
