//! Executing one block request (§5.2.6): a 16-byte header the device reads, data, and a
//! status byte the device writes last.
//!
//! The chain's framing is not assumed (§2.7.4.1): the header may span descriptors, the
//! data is whatever follows it (device-readable for writes, device-writable for reads)
//! and the status is the last byte of the last descriptor. Data moves through a bounded
//! bounce buffer, so a request never allocates more than [`BOUNCE_BYTES`] however large
//! it claims to be, and requests over [`MAX_REQUEST_BYTES`] fail.

use crate::backend::BlockBackend;
use crate::chain::Segment;
use crate::spec::blk_status;
use crate::spec::req;
use crate::spec::SECTOR_SIZE;
use guestmem::GuestMemoryAccess;
use std::fmt;

/// Largest data transfer of one request; larger ones fail with IOERR.
pub const MAX_REQUEST_BYTES: u64 = 32 << 20;
/// Size of the bounce buffer data moves through.
pub const BOUNCE_BYTES: usize = 64 << 10;
/// Size of the request header.
const HEADER_BYTES: u64 = 16;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The status byte written.
    pub status: u8,
    /// Bytes written into the chain's device-writable buffers (data plus status).
    pub used_len: u32,
    /// Why it failed, for (rate-limited) logs.
    pub failure: Option<Failure>,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Device-readable buffers after device-writable ones.
    Layout,
    /// Fewer than 16 header bytes.
    ShortHeader,
    /// Data larger than [`MAX_REQUEST_BYTES`].
    TooLarge(u64),
    /// Data length not a whole number of sectors.
    Unaligned(u64),
    /// Sectors beyond the end of the disk.
    OutOfRange {
        /// First sector.
        sector: u64,
        /// Bytes.
        len: u64,
    },
    /// Write to a read-only disk.
    ReadOnly,
    /// A guest buffer could not be accessed (beyond RAM, IOMMU fault, or the wrong
    /// direction).
    Dma(u64),
    /// The backing file failed.
    Io(std::io::ErrorKind),
    /// Data buffers in the wrong direction for the request type (device-readable data
    /// for a read, device-writable data for a write).
    Direction,
    /// An unknown request type.
    Unsupported(u32),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Layout => write!(f, "readable descriptor after a writable one"),
            Failure::ShortHeader => write!(f, "request header shorter than 16 bytes"),
            Failure::TooLarge(n) => write!(f, "request of {n} bytes is too large"),
            Failure::Unaligned(n) => write!(f, "data length {n} is not whole sectors"),
            Failure::OutOfRange { sector, len } => {
                write!(f, "sector {sector} + {len} bytes beyond the disk")
            }
            Failure::ReadOnly => write!(f, "write to a read-only disk"),
            Failure::Dma(addr) => write!(f, "guest buffer at {addr:#x} inaccessible"),
            Failure::Io(kind) => write!(f, "backing file error: {kind}"),
            Failure::Direction => write!(f, "data buffer in the wrong direction"),
            Failure::Unsupported(t) => write!(f, "unsupported request type {t}"),
        }
    }
}

/// The chain has no status byte, or it cannot be written: the driver could not learn
/// the outcome, so the device must ask for a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No device-writable byte at the end of the chain.
    #[error("descriptor chain has no status byte")]
    NoStatus,
    /// Writing the status byte failed.
    #[error("status byte at {0:#x} unwritable")]
    StatusWrite(u64),
}

/// What requests need besides the chain.
pub struct RequestContext<'a> {
    /// The device's view of guest memory.
    pub mem: &'a dyn GuestMemoryAccess,
    /// The disk.
    pub backend: &'a dyn BlockBackend,
    /// The GET_ID string.
    pub id: &'a [u8; req::ID_BYTES],
    /// Scratch buffer of [`BOUNCE_BYTES`].
    pub bounce: &'a mut [u8],
}

/// Calls `f(address, len)` for the bytes `[skip, skip + len)` of the buffers `segs`.
fn pieces<E>(
    segs: &[Segment],
    mut skip: u64,
    mut len: u64,
    mut f: impl FnMut(u64, u64) -> Result<(), E>,
    overflow: impl Fn(u64) -> E,
) -> Result<(), E> {
    for s in segs {
        if len == 0 {
            break;
        }
        let seg_len = u64::from(s.len);
        if skip >= seg_len {
            skip -= seg_len;
            continue;
        }
        let n = (seg_len - skip).min(len);
        // Checking the whole segment makes every address inside it safe to form.
        s.addr
            .checked_add(seg_len)
            .ok_or_else(|| overflow(s.addr))?;
        let addr = s.addr + skip;
        f(addr, n)?;
        len -= n;
        skip = 0;
    }
    Ok(())
}

/// The address a guest memory access failed at (the first byte of the access when
/// the error does not say).
fn fault_addr(err: &guestmem::GuestMemoryError, start: u64) -> u64 {
    match *err {
        guestmem::GuestMemoryError::Fault { addr, .. } => addr,
        _ => start,
    }
}

fn total(segs: &[Segment]) -> u64 {
    segs.iter().map(|s| u64::from(s.len)).sum()
}

/// Runs the request in `chain` and writes its status.
pub fn process(
    ctx: &mut RequestContext<'_>,
    chain: &[Segment],
) -> Result<Completion, RequestError> {
    // The status byte: the last byte of the last non-empty descriptor, which must be
    // device-writable.
    let last = chain
        .iter()
        .rev()
        .find(|s| s.len > 0)
        .ok_or(RequestError::NoStatus)?;
    if !last.writable {
        return Err(RequestError::NoStatus);
    }
    let status_addr = last
        .addr
        .checked_add(u64::from(last.len) - 1)
        .ok_or(RequestError::NoStatus)?;

    let (status, written, failure) = match execute(ctx, chain) {
        Ok(written) => (blk_status::OK, written, None),
        Err((status, written, failure)) => (status, written, Some(failure)),
    };
    ctx.mem
        .write_at(status_addr, &[status])
        .map_err(|_| RequestError::StatusWrite(status_addr))?;
    Ok(Completion {
        status,
        // `written` never exceeds MAX_REQUEST_BYTES.
        used_len: (written + 1) as u32,
        failure,
    })
}

type Fail = (u8, u64, Failure);

fn ioerr(f: Failure) -> Fail {
    (blk_status::IOERR, 0, f)
}

/// Returns the data bytes written into the chain.
fn execute(ctx: &mut RequestContext<'_>, chain: &[Segment]) -> Result<u64, Fail> {
    let split = chain.iter().position(|s| s.writable).unwrap_or(chain.len());
    let (readable, writable) = chain.split_at(split);
    if writable.iter().any(|s| !s.writable) {
        return Err(ioerr(Failure::Layout));
    }
    let readable_len = total(readable);
    // The status byte is excluded from the data.
    let writable_len = total(writable).saturating_sub(1);
    if readable_len < HEADER_BYTES {
        return Err(ioerr(Failure::ShortHeader));
    }
    let mut header = [0u8; HEADER_BYTES as usize];
    let mut at = 0usize;
    pieces(
        readable,
        0,
        HEADER_BYTES,
        |addr, n| {
            let n = n as usize;
            ctx.mem
                .read_at(addr, &mut header[at..at + n])
                .map_err(|e| ioerr(Failure::Dma(fault_addr(&e, addr))))?;
            at += n;
            Ok(())
        },
        |a| ioerr(Failure::Dma(a)),
    )?;
    let kind = u32::from_le_bytes(header[0..4].try_into().unwrap());
    let sector = u64::from_le_bytes(header[8..16].try_into().unwrap());
    let out_len = readable_len - HEADER_BYTES;
    match kind {
        req::IN => {
            if out_len != 0 {
                return Err(ioerr(Failure::Direction));
            }
            let offset = check_range(ctx.backend, sector, writable_len)?;
            read_into_guest(ctx, writable, offset, writable_len)
        }
        req::OUT => {
            if ctx.backend.read_only() {
                return Err(ioerr(Failure::ReadOnly));
            }
            if writable_len != 0 {
                return Err(ioerr(Failure::Direction));
            }
            let offset = check_range(ctx.backend, sector, out_len)?;
            write_from_guest(ctx, readable, offset, out_len)?;
            Ok(0)
        }
        req::FLUSH => {
            ctx.backend
                .flush()
                .map_err(|e| ioerr(Failure::Io(e.kind())))?;
            Ok(0)
        }
        req::GET_ID => {
            let n = writable_len.min(req::ID_BYTES as u64);
            let id = ctx.id;
            let mut done = 0usize;
            pieces(
                writable,
                0,
                n,
                |addr, len| {
                    let len = len as usize;
                    ctx.mem.write_at(addr, &id[done..done + len]).map_err(|e| {
                        (
                            blk_status::IOERR,
                            done as u64,
                            Failure::Dma(fault_addr(&e, addr)),
                        )
                    })?;
                    done += len;
                    Ok(())
                },
                |a| ioerr(Failure::Dma(a)),
            )?;
            Ok(n)
        }
        other => Err((blk_status::UNSUPP, 0, Failure::Unsupported(other))),
    }
}

/// Checks `len` bytes from `sector` against the disk; returns the byte offset.
fn check_range(backend: &dyn BlockBackend, sector: u64, len: u64) -> Result<u64, Fail> {
    if len > MAX_REQUEST_BYTES {
        return Err(ioerr(Failure::TooLarge(len)));
    }
    if len % SECTOR_SIZE != 0 {
        return Err(ioerr(Failure::Unaligned(len)));
    }
    let capacity = backend.len() / SECTOR_SIZE * SECTOR_SIZE;
    sector
        .checked_mul(SECTOR_SIZE)
        .filter(|&off| off.checked_add(len).is_some_and(|end| end <= capacity))
        .ok_or(ioerr(Failure::OutOfRange { sector, len }))
}

fn read_into_guest(
    ctx: &mut RequestContext<'_>,
    writable: &[Segment],
    offset: u64,
    len: u64,
) -> Result<u64, Fail> {
    let mut done = 0u64;
    let RequestContext {
        mem,
        backend,
        bounce,
        ..
    } = ctx;
    pieces(
        writable,
        0,
        len,
        |addr, n| {
            let mut piece_done = 0u64;
            while piece_done < n {
                let c = (n - piece_done).min(bounce.len() as u64) as usize;
                backend
                    .read_at(&mut bounce[..c], offset + done)
                    .map_err(|e| (blk_status::IOERR, done, Failure::Io(e.kind())))?;
                let a = addr + piece_done;
                mem.write_at(a, &bounce[..c])
                    .map_err(|e| (blk_status::IOERR, done, Failure::Dma(fault_addr(&e, a))))?;
                piece_done += c as u64;
                done += c as u64;
            }
            Ok(())
        },
        |a| ioerr(Failure::Dma(a)),
    )?;
    Ok(done)
}

fn write_from_guest(
    ctx: &mut RequestContext<'_>,
    readable: &[Segment],
    offset: u64,
    len: u64,
) -> Result<(), Fail> {
    let mut done = 0u64;
    let RequestContext {
        mem,
        backend,
        bounce,
        ..
    } = ctx;
    pieces(
        readable,
        HEADER_BYTES,
        len,
        |addr, n| {
            let mut piece_done = 0u64;
            while piece_done < n {
                let c = (n - piece_done).min(bounce.len() as u64) as usize;
                let a = addr + piece_done;
                mem.read_at(a, &mut bounce[..c])
                    .map_err(|e| ioerr(Failure::Dma(fault_addr(&e, a))))?;
                backend
                    .write_at(&bounce[..c], offset + done)
                    .map_err(|e| ioerr(Failure::Io(e.kind())))?;
                piece_done += c as u64;
                done += c as u64;
            }
            Ok(())
        },
        |a| ioerr(Failure::Dma(a)),
    )
}

#[cfg(test)]
mod tests;
