//! The boot vCPU's initial state: 64-bit long mode with an identity map for the Linux
//! 64-bit boot protocol, or 32-bit flat protected mode for the PVH entry.

use crate::layout;
use guestmem::GuestMemory;
use kvm_bindings::kvm_fpu;
use kvm_bindings::kvm_msr_entry;
use kvm_bindings::kvm_regs;
use kvm_bindings::kvm_segment;
use kvm_bindings::Msrs;
use kvm_ioctls::VcpuFd;

/// Where and how the boot vCPU starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootEntry {
    /// Linux 64-bit boot protocol: long mode, `rsi` = zero page.
    Linux64 {
        /// Entry point.
        rip: u64,
        /// boot_params address.
        zero_page: u64,
    },
    /// PVH: 32-bit protected mode, paging off, `ebx` = start info.
    Pvh {
        /// Entry point.
        rip: u64,
        /// hvm_start_info address.
        start_info: u64,
    },
}

/// Errors setting registers.
#[derive(Debug, thiserror::Error)]
pub enum RegsError {
    /// A KVM ioctl failed.
    #[error("{0}")]
    Kvm(&'static str, #[source] kvm_ioctls::Error),
    /// Writing boot structures to guest memory failed.
    #[error("writing boot structures")]
    Memory(#[source] guestmem::GuestMemoryError),
}

const CODE64: u16 = 0xa09b;
const CODE32: u16 = 0xc09b;
const DATA: u16 = 0xc093;
const TSS: u16 = 0x808b;
/// Selectors the boot protocol names: __BOOT_CS and __BOOT_DS.
const SEL_CODE: u16 = 0x10;
const SEL_DATA: u16 = 0x18;
const SEL_TSS: u16 = 0x20;

fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    ((base as u64 & 0xff00_0000) << 32)
        | ((flags as u64 & 0xf0ff) << 40)
        | ((limit as u64 & 0xf_0000) << 32)
        | ((base as u64 & 0x00ff_ffff) << 16)
        | (limit as u64 & 0xffff)
}

/// A segment register from descriptor flags: the access byte in bits 7:0 (type, S,
/// DPL, P) and AVL, L, D/B, G in bits 15:12.
fn segment(flags: u16, selector: u16) -> kvm_segment {
    let bit = |n: u16| ((flags >> n) & 1) as u8;
    let g = bit(15);
    kvm_segment {
        base: 0,
        limit: if g == 1 { 0xffff_ffff } else { 0xfffff },
        selector,
        type_: (flags & 0xf) as u8,
        s: bit(4),
        dpl: ((flags >> 5) & 3) as u8,
        present: bit(7),
        avl: bit(12),
        l: bit(13),
        db: bit(14),
        g,
        unusable: 0,
        padding: 0,
    }
}

fn write_gdt(memory: &GuestMemory, code: u16) -> Result<(), RegsError> {
    let gdt = [
        0,
        0,
        gdt_entry(code, 0, 0xfffff),
        gdt_entry(DATA, 0, 0xfffff),
        gdt_entry(TSS, 0, 0xfffff),
    ];
    memory
        .write_plain(layout::BOOT_GDT, &gdt)
        .map_err(RegsError::Memory)?;
    memory
        .write_plain(layout::BOOT_IDT, &0u64)
        .map_err(RegsError::Memory)
}

/// Identity-maps the first 4 GiB with 2 MiB pages.
fn write_page_tables(memory: &GuestMemory) -> Result<(), RegsError> {
    let w = |gpa, v: &[u64]| {
        memory
            .write_at(gpa, zerocopy::IntoBytes::as_bytes(v))
            .map_err(RegsError::Memory)
    };
    w(layout::PML4, &[layout::PDPT | 3])?;
    let pdpt: Vec<u64> = (0..4).map(|i| (layout::PD + i * 0x1000) | 3).collect();
    w(layout::PDPT, &pdpt)?;
    let pd: Vec<u64> = (0..2048u64).map(|i| (i << 21) | 0x83).collect();
    w(layout::PD, &pd)
}

/// Puts the boot vCPU in the state `entry` needs.
pub fn setup_boot_vcpu(
    vcpu: &VcpuFd,
    memory: &GuestMemory,
    entry: BootEntry,
) -> Result<(), RegsError> {
    let mut sregs = vcpu
        .get_sregs()
        .map_err(|e| RegsError::Kvm("KVM_GET_SREGS", e))?;
    let mut regs = kvm_regs {
        rflags: 2,
        ..Default::default()
    };
    let code = match entry {
        BootEntry::Linux64 { rip, zero_page } => {
            write_page_tables(memory)?;
            sregs.cr3 = layout::PML4;
            sregs.cr4 |= 1 << 5; // PAE
            sregs.cr0 |= 0x8000_0011; // PG | ET | PE
            sregs.efer |= 0x500; // LME | LMA
            regs.rip = rip;
            regs.rsp = layout::BOOT_STACK;
            regs.rbp = layout::BOOT_STACK;
            regs.rsi = zero_page;
            CODE64
        }
        BootEntry::Pvh { rip, start_info } => {
            sregs.cr0 = 0x11; // ET | PE
            sregs.cr4 = 0;
            sregs.efer = 0;
            regs.rip = rip;
            regs.rbx = start_info;
            CODE32
        }
    };
    write_gdt(memory, code)?;
    sregs.gdt.base = layout::BOOT_GDT;
    sregs.gdt.limit = 5 * 8 - 1;
    sregs.idt.base = layout::BOOT_IDT;
    sregs.idt.limit = 7;
    sregs.cs = segment(code, SEL_CODE);
    let data = segment(DATA, SEL_DATA);
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = segment(TSS, SEL_TSS);
    vcpu.set_sregs(&sregs)
        .map_err(|e| RegsError::Kvm("KVM_SET_SREGS", e))?;
    vcpu.set_regs(&regs)
        .map_err(|e| RegsError::Kvm("KVM_SET_REGS", e))?;
    let fpu = kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    };
    vcpu.set_fpu(&fpu)
        .map_err(|e| RegsError::Kvm("KVM_SET_FPU", e))
}

/// MSRs every vCPU starts with: fast strings on, MTRRs enabled with write-back default.
pub fn setup_msrs(vcpu: &VcpuFd) -> Result<(), RegsError> {
    const IA32_MISC_ENABLE: u32 = 0x1a0;
    const MTRR_DEF_TYPE: u32 = 0x2ff;
    let msrs = Msrs::from_entries(&[
        kvm_msr_entry {
            index: IA32_MISC_ENABLE,
            data: 1,
            ..Default::default()
        },
        kvm_msr_entry {
            index: MTRR_DEF_TYPE,
            data: (1 << 11) | 6,
            ..Default::default()
        },
    ])
    .expect("two entries fit");
    vcpu.set_msrs(&msrs)
        .map_err(|e| RegsError::Kvm("KVM_SET_MSRS", e))?;
    Ok(())
}

/// Starts the vCPU with every supported user XSAVE component enabled in XCR0 and sets
/// `cpuid` again so KVM sizes CPUID.0xD.0:EBX for it.
///
/// KVM derives that size from the vCPU's XCR0 when CPUID is set, and some kernels do not
/// recompute it when the guest's XSETBV only toggles AVX; the guest then finds the size
/// too small for the features it enabled (Linux warns "XSAVE consistency problem").
/// The guest sets its own XCR0 before using XSAVE, so this start value is harmless.
pub fn setup_xcr0(vcpu: &VcpuFd, cpuid: &kvm_bindings::CpuId) -> Result<(), RegsError> {
    let xcr0 = super::cpuid::supported_xcr0(cpuid);
    if xcr0 & 0x3 != 0x3 {
        return Ok(());
    }
    let mut xcrs = kvm_bindings::kvm_xcrs {
        nr_xcrs: 1,
        ..Default::default()
    };
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = xcr0;
    vcpu.set_xcrs(&xcrs)
        .map_err(|e| RegsError::Kvm("KVM_SET_XCRS", e))?;
    vcpu.set_cpuid2(cpuid)
        .map_err(|e| RegsError::Kvm("KVM_SET_CPUID2", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_decode() {
        assert_eq!(gdt_entry(CODE64, 0, 0xfffff), 0x00af_9b00_0000_ffff);
        assert_eq!(gdt_entry(DATA, 0, 0xfffff), 0x00cf_9300_0000_ffff);
        let cs = segment(CODE64, SEL_CODE);
        assert_eq!((cs.l, cs.db, cs.type_, cs.s, cs.g), (1, 0, 0xb, 1, 1));
        let cs32 = segment(CODE32, SEL_CODE);
        assert_eq!((cs32.l, cs32.db), (0, 1));
        let tr = segment(TSS, SEL_TSS);
        assert_eq!((tr.s, tr.type_, tr.present), (0, 0xb, 1));
    }
}
