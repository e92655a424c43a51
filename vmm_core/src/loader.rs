//! Loading the guest kernel (linux-loader): an ELF `vmlinux` through its PVH entry, or
//! a bzImage through the 64-bit boot protocol; the initrd, the command line, the
//! memory map and the boot structures that point at them.

use crate::kvm::regs::BootEntry;
use crate::layout;
use crate::layout::MemoryType;
use guestmem::GuestMemory;
use linux_loader::loader::bootparam::boot_params;
use linux_loader::loader::elf::start_info::hvm_memmap_table_entry;
use linux_loader::loader::elf::start_info::hvm_modlist_entry;
use linux_loader::loader::elf::start_info::hvm_start_info;
use linux_loader::loader::elf::Elf;
use linux_loader::loader::elf::PvhBootCapability;
use linux_loader::loader::BzImage;
use linux_loader::loader::KernelLoader;
use std::fs::File;
use std::io::Read;
use std::io::Seek;
use std::path::Path;
use vm_memory::Bytes;
use vm_memory::GuestAddress;
use vm_memory::GuestMemoryMmap;
use vm_memory::GuestRegionMmap;
use vm_memory::MmapRegion;

/// Errors loading the guest.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("reading {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The kernel image is not a bzImage or a PVH-capable ELF.
    #[error("loading kernel {path}: {message}")]
    Kernel {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The initrd does not fit in low memory.
    #[error("initrd of {size} bytes does not fit below {limit:#x}; give the guest more memory")]
    InitrdTooLarge {
        /// Initrd size.
        size: u64,
        /// The highest address it could end at.
        limit: u64,
    },
    /// The command line is too long.
    #[error("kernel command line is {0} bytes; at most {max} are accepted", max = layout::CMDLINE_MAX - 1)]
    CmdlineTooLong(usize),
    /// Writing to guest memory failed.
    #[error("writing boot data to guest memory: {0}")]
    Memory(String),
}

/// What to boot.
#[derive(Debug, Clone)]
pub struct BootConfig<'a> {
    /// Kernel image (bzImage or ELF vmlinux with a PVH note).
    pub kernel: &'a Path,
    /// Optional initrd.
    pub initrd: Option<&'a Path>,
    /// Kernel command line.
    pub cmdline: &'a str,
    /// Guest RAM size.
    pub memory_size: u64,
    /// Where the ACPI RSDP is.
    pub rsdp: u64,
    /// Ranges the memory map marks reserved (ECAM windows).
    pub reserved: &'a [(u64, u64)],
}

/// A vm-memory view of the same host mappings, for linux-loader.
fn vm_memory_view(memory: &GuestMemory) -> Result<GuestMemoryMmap, LoadError> {
    let mut regions = Vec::new();
    for r in memory.regions() {
        // SAFETY: [host_addr, host_addr + len) is a live read/write mapping owned by
        // `memory`; the view is dropped before this module returns, while `memory` is
        // still borrowed, and build_raw does not unmap it on drop.
        let mmap = unsafe {
            MmapRegion::build_raw(
                r.host_addr as *mut u8,
                r.len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_ANONYMOUS | libc::MAP_PRIVATE,
            )
        }
        .map_err(|e| LoadError::Memory(e.to_string()))?;
        regions.push(
            GuestRegionMmap::new(mmap, GuestAddress(r.gpa))
                .ok_or_else(|| LoadError::Memory("region overflows".into()))?,
        );
    }
    GuestMemoryMmap::from_regions(regions).map_err(|e| LoadError::Memory(e.to_string()))
}

fn open(path: &Path) -> Result<File, LoadError> {
    File::open(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn is_elf(file: &mut File) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic)?;
    file.rewind()?;
    Ok(n == 4 && magic == *b"\x7fELF")
}

/// Loads the kernel, initrd and command line; returns how the boot vCPU starts.
pub fn load(memory: &GuestMemory, config: &BootConfig<'_>) -> Result<BootEntry, LoadError> {
    let view = vm_memory_view(memory)?;
    let kernel_path = config.kernel.display().to_string();
    let mut kernel = open(config.kernel)?;
    let io_err = |source| LoadError::Io {
        path: kernel_path.clone(),
        source,
    };
    let kernel_err = |message: String| LoadError::Kernel {
        path: kernel_path.clone(),
        message,
    };

    if config.cmdline.len() >= layout::CMDLINE_MAX {
        return Err(LoadError::CmdlineTooLong(config.cmdline.len()));
    }
    let mut cmdline = config.cmdline.as_bytes().to_vec();
    cmdline.push(0);
    memory
        .write_at(layout::CMDLINE, &cmdline)
        .map_err(|e| LoadError::Memory(e.to_string()))?;

    let low_end = layout::ram_ranges(config.memory_size)[0].end();
    if is_elf(&mut kernel).map_err(io_err)? {
        let loaded = Elf::load(
            &view,
            None,
            &mut kernel,
            Some(GuestAddress(layout::KERNEL_START)),
        )
        .map_err(|e| kernel_err(e.to_string()))?;
        let PvhBootCapability::PvhEntryPresent(entry) = loaded.pvh_boot_cap else {
            return Err(kernel_err(
                "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)".into(),
            ));
        };
        let initrd = load_initrd(memory, config, loaded.kernel_end, low_end, u64::MAX)?;
        write_pvh_start_info(&view, config, initrd)?;
        Ok(BootEntry::Pvh {
            rip: entry.0,
            start_info: layout::PVH_START_INFO,
        })
    } else {
        let loaded = BzImage::load(
            &view,
            None,
            &mut kernel,
            Some(GuestAddress(layout::KERNEL_START)),
        )
        .map_err(|e| kernel_err(e.to_string()))?;
        let mut params = boot_params {
            hdr: loaded
                .setup_header
                .ok_or_else(|| kernel_err("bzImage without a setup header".into()))?,
            ..Default::default()
        };
        let initrd_max = u64::from(params.hdr.initrd_addr_max);
        let initrd = load_initrd(memory, config, loaded.kernel_end, low_end, initrd_max)?;
        params.hdr.type_of_loader = 0xff;
        params.hdr.cmd_line_ptr = layout::CMDLINE as u32;
        params.hdr.cmdline_size = cmdline.len() as u32;
        if let Some((addr, size)) = initrd {
            params.hdr.ramdisk_image = addr as u32;
            params.hdr.ramdisk_size = size as u32;
        }
        params.acpi_rsdp_addr = config.rsdp;
        let map = layout::memory_map(config.memory_size, config.reserved);
        for (i, (addr, size, typ)) in map.iter().enumerate() {
            params.e820_table[i].addr = *addr;
            params.e820_table[i].size = *size;
            params.e820_table[i].r#type = match typ {
                MemoryType::Ram => 1,
                MemoryType::Reserved => 2,
            };
        }
        params.e820_entries = map.len() as u8;
        view.write_obj(params, GuestAddress(layout::ZERO_PAGE))
            .map_err(|e| LoadError::Memory(e.to_string()))?;
        Ok(BootEntry::Linux64 {
            rip: loaded.kernel_load.0 + 0x200,
            zero_page: layout::ZERO_PAGE,
        })
    }
}

/// Places the initrd page-aligned at the top of low RAM (below `max`, above the
/// kernel). Returns its address and size.
fn load_initrd(
    memory: &GuestMemory,
    config: &BootConfig<'_>,
    kernel_end: u64,
    low_end: u64,
    max: u64,
) -> Result<Option<(u64, u64)>, LoadError> {
    let Some(path) = config.initrd else {
        return Ok(None);
    };
    let data = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let size = data.len() as u64;
    let limit = low_end.min(max.saturating_add(1));
    let addr = limit.checked_sub(size).map(|a| a & !0xfff);
    let addr = match addr {
        Some(a) if a >= kernel_end.max(layout::KERNEL_START) => a,
        _ => return Err(LoadError::InitrdTooLarge { size, limit }),
    };
    memory
        .write_at(addr, &data)
        .map_err(|e| LoadError::Memory(e.to_string()))?;
    Ok(Some((addr, size)))
}

fn write_pvh_start_info(
    view: &GuestMemoryMmap,
    config: &BootConfig<'_>,
    initrd: Option<(u64, u64)>,
) -> Result<(), LoadError> {
    const XEN_HVM_START_MAGIC: u32 = 0x336e_c578;
    let mem_err = |e: vm_memory::GuestMemoryError| LoadError::Memory(e.to_string());
    let map = layout::memory_map(config.memory_size, config.reserved);
    for (i, (addr, size, typ)) in map.iter().enumerate() {
        let entry = hvm_memmap_table_entry {
            addr: *addr,
            size: *size,
            type_: match typ {
                MemoryType::Ram => 1,
                MemoryType::Reserved => 2,
            },
            reserved: 0,
        };
        view.write_obj(
            entry,
            GuestAddress(
                layout::PVH_MEMMAP + i as u64 * size_of::<hvm_memmap_table_entry>() as u64,
            ),
        )
        .map_err(mem_err)?;
    }
    let modlist = layout::PVH_MEMMAP + 0x1c0;
    let mut info = hvm_start_info {
        magic: XEN_HVM_START_MAGIC,
        version: 1,
        cmdline_paddr: layout::CMDLINE,
        rsdp_paddr: config.rsdp,
        memmap_paddr: layout::PVH_MEMMAP,
        memmap_entries: map.len() as u32,
        ..Default::default()
    };
    if let Some((paddr, size)) = initrd {
        let module = hvm_modlist_entry {
            paddr,
            size,
            ..Default::default()
        };
        view.write_obj(module, GuestAddress(modlist))
            .map_err(mem_err)?;
        info.nr_modules = 1;
        info.modlist_paddr = modlist;
    }
    view.write_obj(info, GuestAddress(layout::PVH_START_INFO))
        .map_err(mem_err)
}
