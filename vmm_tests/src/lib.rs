//! vmm_tests: boot tests of openvmm with real Linux guests (see `tests/`).
//!
//! This library holds the parsers the tests use on guest output, so they can
//! be unit-tested without booting anything.
#![forbid(unsafe_code)]

/// Parses a `--memory` value (`512M`, `2G`, `1024K`, or bytes) into bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// `MemTotal` from `/proc/meminfo` text, in bytes.
pub fn mem_total(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("MemTotal:")?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// The value after `key=` on a line of its own in `text`.
pub fn keyed<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

/// One `/proc/interrupts` line: the total count over CPUs and the rest
/// (chip, pin/type, handler names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrqLine {
    /// The IRQ column (`4`, `NMI`, ...).
    pub irq: String,
    /// Sum of the per-CPU counts.
    pub total: u64,
    /// Chip and names, e.g. `IO-APIC   4-edge      ttyS0`.
    pub desc: String,
}

/// Parses one `/proc/interrupts` line.
pub fn parse_irq_line(line: &str) -> Option<IrqLine> {
    let (irq, rest) = line.trim().split_once(':')?;
    let mut total = 0u64;
    let mut words = rest.split_whitespace().peekable();
    let mut any = false;
    while let Some(w) = words.peek() {
        match w.parse::<u64>() {
            Ok(v) => {
                total += v;
                any = true;
                words.next();
            }
            Err(_) => break,
        }
    }
    if !any {
        return None;
    }
    Some(IrqLine {
        irq: irq.trim().to_string(),
        total,
        desc: words.collect::<Vec<_>>().join(" "),
    })
}

/// The `/proc/interrupts` line whose handler list names `name`, found in text
/// after a `prefix` (e.g. `irq-before:`).
pub fn find_irq(text: &str, prefix: &str, name: &str) -> Option<IrqLine> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(prefix)?;
        let line = parse_irq_line(rest)?;
        line.desc
            .split_whitespace()
            .any(|w| w == name)
            .then_some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("xG"), None);
    }

    #[test]
    fn meminfo() {
        let t = "MemTotal:         483412 kB\nMemFree:          450000 kB\n";
        assert_eq!(mem_total(t), Some(483412 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    #[test]
    fn keyed_values() {
        assert_eq!(keyed("a\nnproc=2\n", "nproc"), Some("2"));
        assert_eq!(keyed("nprocs=3\n", "nproc"), None);
    }

    #[test]
    fn interrupts() {
        let l = parse_irq_line("  4:        120         33   IO-APIC   4-edge      ttyS0").unwrap();
        assert_eq!(l.irq, "4");
        assert_eq!(l.total, 153);
        assert_eq!(l.desc, "IO-APIC 4-edge ttyS0");
        let l = parse_irq_line("  4:   7  IR-IO-APIC    4-edge      ttyS0").unwrap();
        assert!(l.desc.contains("IO-APIC"));
        assert!(parse_irq_line("           CPU0       CPU1").is_none());
        let text = "noise\nirq-before:   4:   5   IO-APIC   4-edge  ttyS0\nirq-after: 4:  90  IO-APIC 4-edge ttyS0\n";
        assert_eq!(find_irq(text, "irq-before:", "ttyS0").unwrap().total, 5);
        assert_eq!(find_irq(text, "irq-after:", "ttyS0").unwrap().total, 90);
        assert!(find_irq(text, "irq-after:", "ttyS1").is_none());
    }
}

/// A batch of guests run once per test process, shared by the tests that check it.
pub struct Batch {
    results: Vec<Result<petri::GuestRun, String>>,
}

impl Batch {
    /// Runs `vms` as one batch (one test-host boot where there is a test host).
    pub fn run(name: &str, vms: Vec<petri::PetriVmConfig>) -> Self {
        let start = std::time::Instant::now();
        let results = petri::run_batch(name, vms)
            .into_iter()
            .map(|r| match r {
                Ok(run) => Ok(run),
                Err(petri::PetriError::Skipped(why)) => Err(format!("SKIP:{why}")),
                Err(e) => Err(e.to_string()),
            })
            .collect();
        eprintln!(
            "vmm_tests: batch {name} took {:.1}s",
            start.elapsed().as_secs_f64()
        );
        Self { results }
    }

    /// Guest `i`'s run; `None` (after a loud message) where VM tests cannot run on
    /// this machine. Panics on a set-up or infrastructure failure.
    pub fn guest(&self, i: usize) -> Option<&petri::GuestRun> {
        match &self.results[i] {
            Ok(run) => Some(run),
            Err(e) if e.starts_with("SKIP:") => {
                eprintln!(
                    "\n!!! SKIPPING VM TEST: {} !!!\n",
                    e.trim_start_matches("SKIP:")
                );
                None
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Guest script: the IOMMU report and interrupt counts of ttyS0 (console load) and
/// ttyS1 (held open and written to), as `key: line` lines the tests parse.
pub const IOMMU_PROBE: &str = r#"
echo "== dmesg"
dmesg | grep -E "DMAR|AMD-Vi|iommu|IRQ remapping|x2apic|Firmware Bug|Unknown"
echo "faults=$(dmesg | grep -cE 'IO_PAGE_FAULT|DMAR: \[DMA|DRHD: handling fault|INVALID_DEVICE_REQUEST|ILLEGAL_DEV')"
for g in /sys/kernel/iommu_groups/*; do
    [ -d "$g/devices" ] && echo "group ${g##*/}: $(ls "$g/devices" | tr '\n' ' ')"
done
echo "irq0-before: $(grep -w ttyS0 /proc/interrupts)"
i=0
while [ $i -lt 30 ]; do echo "console load line $i"; i=$((i + 1)); done
echo "irq0-after: $(grep -w ttyS0 /proc/interrupts)"
exec 3>/dev/ttyS1
echo "irq1-before: $(grep -w ttyS1 /proc/interrupts)"
i=0
while [ $i -lt 30 ]; do echo "ttyS1 line $i" >&3; i=$((i + 1)); done
sleep 1
echo "irq1-after: $(grep -w ttyS1 /proc/interrupts)"
exec 3>&-
"#;

/// The IOMMU groups in [`IOMMU_PROBE`] output: (group, devices).
pub fn iommu_groups(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("group ")?;
            let (g, devs) = rest.split_once(':')?;
            Some((
                g.to_string(),
                devs.split_whitespace().map(str::to_string).collect(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod probe_tests {
    use super::*;

    #[test]
    fn groups_parse() {
        let g = iommu_groups("x\ngroup 3: 0000:00:01.0 0000:01:00.0 \ngroup 4: 0001:01:00.0\n");
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].1, vec!["0000:00:01.0", "0000:01:00.0"]);
    }
}

/// Guest script: for each virtio disk named in `$DISKS` (default `vda`), writes 1 MiB
/// of random data with O_DIRECT, reads it back the same way, and prints
/// `<disk>-pattern=MD5` and `<disk>-readback=MD5`, plus the sum of the disk's virtio
/// request interrupts before and after (`<disk>-irqs-before=N`, `-after=N`) and one of
/// its `/proc/interrupts` lines (`<disk>-irq-line: ...`).
pub const DISK_CHECK: &str = r#"
for d in ${DISKS:-vda}; do
    v=$(basename "$(readlink -f /sys/block/$d/device)")
    irqs() { awk -v v="$v-req" '$0 ~ v { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i } END { print s + 0 }' /proc/interrupts; }
    echo "$d-path: $(readlink -f /sys/block/$d)"
    echo "$d-irqs-before=$(irqs)"
    dd if=/dev/urandom of=/tmp/pat bs=4096 count=256 2>/dev/null
    echo "$d-pattern=$(md5sum < /tmp/pat | cut -d' ' -f1)"
    dd if=/tmp/pat of=/dev/$d bs=4096 count=256 oflag=direct 2>/dev/null || echo "$d-write-failed"
    dd if=/dev/$d of=/tmp/back bs=4096 count=256 iflag=direct 2>/dev/null || echo "$d-read-failed"
    echo "$d-readback=$(md5sum < /tmp/back | cut -d' ' -f1)"
    echo "$d-irqs-after=$(irqs)"
    echo "$d-irq-line: $(grep "$v-req.0" /proc/interrupts)"
done
"#;

/// Host check for a disk image made by `PetriVmConfig::disk(name, ..)`: prints
/// `host-<name>=MD5` of its first MiB.
pub fn host_md5(name: &str) -> String {
    format!(
        "echo \"host-{name}=$(head -c 1048576 {{scratch}}/{name}.img | md5sum | cut -d' ' -f1)\""
    )
}

/// Guest script: finds the DMA test device on segment `$DMA_SEG` (default 0000), enables
/// it, and has it copy `$DMA_LEN` bytes from bus address `$DMA_A` to `$DMA_B`; prints
/// `dma-bdf=`, `dma-status=`, `dma-fault-addr=` and the IOMMU fault lines the guest
/// logged.
pub const DMA_TEST: &str = r#"
dev=
for d in /sys/bus/pci/devices/${DMA_SEG:-0000}:*; do
    [ "$(cat $d/device)" = 0xd7e5 ] && dev=$d && break
done
echo "dma-bdf=${dev##*/}"
echo 1 > $dev/enable
bar=$(( $(head -1 $dev/resource | cut -d' ' -f1) ))
devmem $((bar + 0x00)) 32 $((DMA_A & 0xffffffff))
devmem $((bar + 0x04)) 32 $((DMA_A >> 32))
devmem $((bar + 0x08)) 32 $((DMA_B & 0xffffffff))
devmem $((bar + 0x0c)) 32 $((DMA_B >> 32))
devmem $((bar + 0x10)) 32 ${DMA_LEN:-64}
devmem $((bar + 0x18)) 32 1
echo "dma-status=$(devmem $((bar + 0x1c)) 32)"
echo "dma-fault-addr=$(devmem $((bar + 0x28)) 32)"
sleep 1
dmesg | grep -E "DMAR: \[DMA|IO_PAGE_FAULT|DRHD: handling fault" | head -4 | sed 's/^/dma-log: /'
"#;
