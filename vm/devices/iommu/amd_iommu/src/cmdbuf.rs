//! The command buffer (#48882 §2.4 and §3.4.2/§3.4.9): the IOMMU executes commands
//! from head to tail whenever the guest moves the tail or enables the buffer.
//!
//! No translation is cached, so invalidations only tell the remap listener when
//! interrupt remapping decisions may have changed. Errors (an unknown opcode, a
//! command or completion store outside guest RAM, a tail outside the ring) log an
//! event and halt the buffer with the head on the offending command, until software
//! clears CmdBufEn.

use crate::spec::cmd::opcode;
use crate::spec::cmd::CmdHeader;
use crate::spec::cmd::CompletionWait;
use crate::spec::cmd::CMD_SIZE;
use crate::spec::event::code;
use crate::spec::event::Event;
use crate::spec::regs::efr;
use crate::spec::regs::Status;
use crate::state::State;

/// What went wrong with a command.
enum CmdError {
    /// ILLEGAL_COMMAND_ERROR: unknown opcode or reserved bits set.
    Illegal,
    /// COMMAND_HARDWARE_ERROR at this address.
    Hardware(u64),
}

impl State {
    /// Runs commands until head reaches tail or an error halts the buffer. Bounded:
    /// each command advances the head, and the ring holds at most 32768 commands.
    pub fn process_commands(&mut self) {
        if !self.cmd_running() {
            return;
        }
        let ring = self.cmd_ring();
        let size = ring.len_bytes();
        for _ in 0..size / CMD_SIZE {
            if self.cmd_head == self.cmd_tail {
                return;
            }
            if self.cmd_head >= size || self.cmd_tail >= size {
                // A pointer outside the ring: the buffer cannot be fetched.
                let addr = ring
                    .address()
                    .wrapping_add(self.cmd_tail.max(self.cmd_head));
                self.command_error(CmdError::Hardware(addr));
                return;
            }
            let addr = ring.address().wrapping_add(self.cmd_head);
            let cmd: [u64; 2] = match self.mem.read_plain(addr) {
                Ok(c) => c,
                Err(_) => {
                    self.command_error(CmdError::Hardware(addr));
                    return;
                }
            };
            if let Err(e) = self.execute(cmd) {
                self.command_error(e);
                return;
            }
            self.stats.commands += 1;
            self.cmd_head = (self.cmd_head + CMD_SIZE) % size;
        }
    }

    fn execute(&mut self, cmd: [u64; 2]) -> Result<(), CmdError> {
        match CmdHeader::from_bits(cmd[0]).opcode() {
            opcode::COMPLETION_WAIT => {
                let cw = CompletionWait::from_bits(cmd[0]);
                if cw.reserved52() != 0 {
                    return Err(CmdError::Illegal);
                }
                if cw.s() {
                    let addr = cw.store_addr() << 3;
                    if self.mem.write_plain(addr, &cmd[1]).is_err() {
                        return Err(CmdError::Hardware(addr));
                    }
                }
                if cw.i() {
                    let bit = Status::new().with_com_wait_int(true).into_bits();
                    if self.ctrl().com_wait_int_en() {
                        self.raise_status(bit);
                    } else {
                        self.status_w1c |= bit;
                    }
                }
                Ok(())
            }
            opcode::INVALIDATE_DEVTAB_ENTRY | opcode::INVALIDATE_INTERRUPT_TABLE => {
                // The DTE and IRTEs are re-read on every use; routes built from the
                // old contents must be rebuilt.
                self.remap_changed = true;
                Ok(())
            }
            opcode::INVALIDATE_IOMMU_PAGES | opcode::INVALIDATE_IOTLB_PAGES => Ok(()),
            opcode::INVALIDATE_IOMMU_ALL if self.efr & efr::IA_SUP != 0 => {
                self.remap_changed = true;
                Ok(())
            }
            _ => Err(CmdError::Illegal),
        }
    }

    fn command_error(&mut self, e: CmdError) {
        let cmd_addr = self.cmd_ring().address().wrapping_add(self.cmd_head);
        let (code, address) = match e {
            CmdError::Illegal => (code::ILLEGAL_COMMAND_ERROR, cmd_addr),
            CmdError::Hardware(addr) => (code::COMMAND_HARDWARE_ERROR, addr),
        };
        if self.log_limit.allow() {
            tracing::warn!(code, address, "amd-iommu: command buffer halted");
        }
        self.cmd_halted = true;
        self.log_event(Event {
            code,
            device_id: 0,
            domain_or_pasid: 0,
            flags: 0,
            address,
        });
    }
}
