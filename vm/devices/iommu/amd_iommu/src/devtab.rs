//! Device table lookup and DTE decoding (#48882 §2.2.2).

use crate::spec::dte::mode;
use crate::spec::dte::Dte0;
use crate::spec::dte::Dte1;
use crate::spec::dte::Dte2;
use crate::spec::dte::DTE0_RESERVED;
use crate::spec::dte::DTE2_RESERVED;
use crate::spec::dte::DTE_SIZE;
use crate::spec::dte::MAX_INT_TAB_LEN;
use crate::spec::regs::DevTableBase;
use guestmem::GuestMemory;

/// One device table entry as read from guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dte {
    /// The four quadwords.
    pub q: [u64; 4],
}

/// Why a DTE could not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DteFetchError {
    /// The DeviceID lies beyond the table size programmed in the base register
    /// (reported as ILLEGAL_DEV_TABLE_ENTRY).
    OutOfTable,
    /// The entry could not be read (DEV_TAB_HARDWARE_ERROR at `addr`).
    ReadError {
        /// Address of the entry.
        addr: u64,
    },
}

/// Reads the DTE of `device_id` from the table described by `base`.
pub fn fetch(mem: &GuestMemory, base: DevTableBase, device_id: u16) -> Result<Dte, DteFetchError> {
    let offset = u64::from(device_id) * DTE_SIZE;
    if offset + DTE_SIZE > base.len_bytes() {
        return Err(DteFetchError::OutOfTable);
    }
    let addr = base.address().wrapping_add(offset);
    let mut bytes = [0u8; 32];
    mem.read_at(addr, &mut bytes)
        .map_err(|_| DteFetchError::ReadError { addr })?;
    let mut q = [0u64; 4];
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let mut b = [0; 8];
        b.copy_from_slice(chunk);
        q[i] = u64::from_le_bytes(b);
    }
    Ok(Dte { q })
}

impl Dte {
    /// Quadword 0: validity, mode, page table root, IR/IW.
    pub fn q0(&self) -> Dte0 {
        Dte0::from_bits(self.q[0])
    }

    /// Quadword 1: domain, suppression, exclusion, SysMgt.
    pub fn q1(&self) -> Dte1 {
        Dte1::from_bits(self.q[1])
    }

    /// Quadword 2: interrupt remapping.
    pub fn q2(&self) -> Dte2 {
        Dte2::from_bits(self.q[2])
    }

    /// Whether the translation fields are illegal (#48882 §2.2.2): Mode 7, reserved
    /// bits set, or guest translation requested (GTSup is not advertised).
    pub fn translation_illegal(&self) -> bool {
        let q0 = self.q0();
        q0.mode() == mode::RESERVED || self.q[0] & DTE0_RESERVED != 0 || q0.gv()
    }

    /// Whether the interrupt fields are illegal (#48882 §2.2.2): IntCtl = 11b,
    /// IntTabLen above 2048 entries, or reserved bits set.
    pub fn interrupt_illegal(&self) -> bool {
        let q2 = self.q2();
        q2.int_ctl() == 0b11 || q2.int_tab_len() > MAX_INT_TAB_LEN || self.q[2] & DTE2_RESERVED != 0
    }

    /// Whether IO_PAGE_FAULT events for this device are suppressed (SE or SA).
    pub fn faults_suppressed(&self) -> bool {
        let q1 = self.q1();
        q1.se() || q1.sa()
    }

    /// Number of IRTEs in this device's table.
    pub fn irt_entries(&self) -> u32 {
        1u32 << self.q2().int_tab_len().min(MAX_INT_TAB_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::dte::int_ctl;
    use crate::spec::dte::SYSMGT_PASS;

    fn mem() -> GuestMemory {
        GuestMemory::new(&[(0, 0x10_0000)]).unwrap()
    }

    #[test]
    fn decodes_every_field() {
        let q0 = Dte0::new()
            .with_v(true)
            .with_tv(true)
            .with_mode(4)
            .with_pt_root(0x1234)
            .with_ir(true)
            .with_iw(false);
        let q1 = Dte1::new()
            .with_domain_id(0xbeef)
            .with_sa(true)
            .with_ex(true)
            .with_sys_mgt(SYSMGT_PASS);
        let q2 = Dte2::new()
            .with_iv(true)
            .with_int_tab_len(9)
            .with_ig(true)
            .with_int_table_root(0x8000 >> 6)
            .with_init_pass(true)
            .with_eint_pass(true)
            .with_nmi_pass(true)
            .with_int_ctl(int_ctl::REMAP)
            .with_lint0_pass(true)
            .with_lint1_pass(true);
        let d = Dte {
            q: [q0.into(), q1.into(), q2.into(), 0],
        };
        // Bit positions Linux uses (amd_iommu_types.h DEV_ENTRY_*).
        assert_eq!(d.q[0] & 0b11, 0b11);
        assert_eq!((d.q[0] >> 9) & 7, 4);
        assert_eq!(d.q[0] >> 61 & 3, 0b01);
        assert_eq!(d.q[1] >> (0x68 - 64) & 1, 1, "SysMgt1 at bit 104");
        assert_eq!(d.q[1] >> (0x62 - 64) & 1, 1, "SA (no page fault) at bit 98");
        assert_eq!(d.q[1] >> (0x67 - 64) & 1, 1, "EX at bit 103");
        for bit in [0x80, 0xb8, 0xb9, 0xba, 0xbe, 0xbf] {
            assert_eq!(d.q[2] >> (bit - 128) & 1, 1, "bit {bit:#x}");
        }
        assert_eq!((d.q[2] >> 60) & 3, 0b10, "IntCtl at 189:188");
        assert_eq!((d.q[2] >> 1) & 0xf, 9, "IntTabLen at 132:129");
        assert_eq!(d.q2().int_table_address(), 0x8000);
        assert_eq!(d.irt_entries(), 512);
        assert_eq!(d.q2().int_ctl(), int_ctl::REMAP);
        assert!(d.faults_suppressed());
        assert!(!d.translation_illegal());
        assert!(!d.interrupt_illegal());
        assert_eq!(d.q1().domain_id(), 0xbeef);
        assert_eq!(d.q0().pt_root() << 12, 0x123_4000);
    }

    #[test]
    fn illegal_fields() {
        let mut d = Dte::default();
        d.q[0] = Dte0::new().with_v(true).with_tv(true).with_mode(7).into();
        assert!(d.translation_illegal(), "mode 7");
        d.q[0] = Dte0::new().with_v(true).with_gv(true).into();
        assert!(d.translation_illegal(), "GV without GTSup");
        d.q[0] = 1 << 63 | 1;
        assert!(d.translation_illegal(), "reserved bit 63");
        d.q[2] = Dte2::new().with_iv(true).with_int_ctl(0b11).into();
        assert!(d.interrupt_illegal(), "IntCtl reserved");
        d.q[2] = Dte2::new().with_iv(true).with_int_tab_len(12).into();
        assert!(d.interrupt_illegal(), "IntTabLen > 11");
        d.q[2] = Dte2::new().with_iv(true).into_bits() | 1 << 59;
        assert!(d.interrupt_illegal(), "reserved bit 187");
    }

    #[test]
    fn fetch_bounds() {
        let mem = mem();
        mem.write_plain(0x4000 + 3 * 32, &0xabcdu64).unwrap();
        let base = DevTableBase::new().with_base(0x4).with_size(0);
        assert_eq!(fetch(&mem, base, 3).unwrap().q[0], 0xabcd);
        // 4 KiB holds 128 entries: DeviceID 128 is outside the table.
        assert_eq!(fetch(&mem, base, 128), Err(DteFetchError::OutOfTable));
        let big = DevTableBase::new().with_base(0x4).with_size(0x1ff);
        assert_eq!(
            fetch(&mem, big, 0xffff).map(|_| ()),
            Err(DteFetchError::ReadError {
                addr: 0x4000 + 0xffff * 32
            })
        );
        // A base beyond RAM reads nothing.
        let far = DevTableBase::new()
            .with_base(0xff_ffff_ffff)
            .with_size(0x1ff);
        assert!(matches!(
            fetch(&mem, far, 0),
            Err(DteFetchError::ReadError { .. })
        ));
    }
}
