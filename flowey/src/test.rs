//! `test`: everything CI runs, in stages, with a summary.

use crate::cargo::cargo;
use crate::util::Timer;
use std::io::BufRead;
use std::io::BufReader;
use std::process::Command;
use std::process::Stdio;

/// Tests counted from cargo test's `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Counts {
    /// Passed.
    pub passed: u64,
    /// Failed.
    pub failed: u64,
    /// Ignored.
    pub ignored: u64,
}

/// Adds up a `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line.
pub fn count_line(line: &str, c: &mut Counts) {
    let Some(rest) = line.trim().strip_prefix("test result:") else {
        return;
    };
    for part in rest.split(';') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let n = words.len();
        if n < 2 {
            continue;
        }
        let Ok(v) = words[n - 2].parse::<u64>() else {
            continue;
        };
        match words[n - 1] {
            "passed" => c.passed += v,
            "failed" => c.failed += v,
            "ignored" => c.ignored += v,
            _ => {}
        }
    }
}

struct Stage {
    name: &'static str,
    ok: bool,
    note: String,
    secs: f64,
}

/// Runs cargo with `args`, streaming its output, counting test results.
fn cargo_stage(
    args: &[&str],
    envs: &[(&str, &str)],
    counts: &mut Counts,
    skipped_vm: &mut bool,
) -> bool {
    eprintln!("flowey: $ cargo {}", args.join(" "));
    let mut cmd = Command::new(cargo());
    cmd.args(args)
        .current_dir(petri::paths::workspace_root())
        .stdout(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flowey: cannot run cargo: {e}");
            return false;
        }
    };
    let out = child.stdout.take().expect("piped");
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        println!("{line}");
        count_line(&line, counts);
        if line.contains("SKIPPING VM TESTS") {
            *skipped_vm = true;
        }
    }
    child.wait().map(|s| s.success()).unwrap_or(false)
}

fn header(i: usize, n: usize, name: &str) {
    eprintln!("\n================ [{i}/{n}] {name} ================");
}

/// Runs all stages; exit status 0 only if all pass.
pub fn main() -> anyhow::Result<i32> {
    let total = Timer::start();
    let mut stages: Vec<Stage> = Vec::new();
    let mut unit = Counts::default();
    let mut vm = Counts::default();
    let mut skipped_vm = false;
    let n = 5;

    let mut simple =
        |i: usize, name: &'static str, args: &[&str], counts: &mut Counts, skipped: &mut bool| {
            header(i, n, name);
            let t = Timer::start();
            let ok = cargo_stage(args, &[], counts, skipped);
            stages.push(Stage {
                name,
                ok,
                note: String::new(),
                secs: t.secs(),
            });
            ok
        };
    let mut ignore = Counts::default();
    simple(
        1,
        "format (cargo fmt --check)",
        &["fmt", "--all", "--", "--check"],
        &mut ignore,
        &mut skipped_vm,
    );
    simple(
        2,
        "clippy (-D warnings)",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &mut ignore,
        &mut skipped_vm,
    );
    simple(
        3,
        "unit tests",
        &["test", "--workspace", "--exclude", "vmm_tests"],
        &mut unit,
        &mut skipped_vm,
    );

    header(4, n, "guest artifacts + openvmm release build");
    let t = Timer::start();
    let prep = crate::artifacts::restore(false).and_then(|_| crate::cargo::build_openvmm_release());
    let prep_ok = match &prep {
        Ok(()) => true,
        Err(e) => {
            eprintln!("flowey: {e:#}");
            false
        }
    };
    stages.push(Stage {
        name: "guest artifacts + openvmm release build",
        ok: prep_ok,
        note: prep.err().map(|e| format!("{e}")).unwrap_or_default(),
        secs: t.secs(),
    });

    header(5, n, "VM tests (vmm_tests)");
    let t = Timer::start();
    let (ok, note) = if prep_ok {
        let ok = cargo_stage(
            &[
                "test",
                "-p",
                "vmm_tests",
                "--",
                "--nocapture",
                "--test-threads=1",
            ],
            &[],
            &mut vm,
            &mut skipped_vm,
        );
        (ok, String::new())
    } else {
        (false, "not run: artifacts or openvmm build failed".into())
    };
    stages.push(Stage {
        name: "VM tests (vmm_tests)",
        ok,
        note,
        secs: t.secs(),
    });

    eprintln!("\n================ summary ================");
    for s in &stages {
        eprintln!(
            "  {:<4} {:<45} {:>7.1}s {}",
            if s.ok { "ok" } else { "FAIL" },
            s.name,
            s.secs,
            s.note
        );
    }
    eprintln!(
        "  unit tests: {} passed, {} failed, {} ignored",
        unit.passed, unit.failed, unit.ignored
    );
    eprintln!("  VM tests:   {} passed, {} failed", vm.passed, vm.failed);
    if skipped_vm {
        eprintln!("  !!! VM TESTS WERE SKIPPED: this machine can boot guests neither directly nor in the test host !!!");
    }
    eprintln!("  total time {:.1}s", total.secs());
    let all_ok = stages.iter().all(|s| s.ok);
    let stage_failures = stages.iter().filter(|s| !s.ok).count();
    println!(
        "summary: {} passed, {} failed",
        unit.passed + vm.passed,
        unit.failed
            + vm.failed
            + if unit.failed + vm.failed == 0 {
                stage_failures as u64
            } else {
                0
            }
    );
    Ok(if all_ok { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cargo_test_lines() {
        let mut c = Counts::default();
        count_line(
            "test result: ok. 18 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            &mut c,
        );
        count_line(
            "test result: FAILED. 1 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out",
            &mut c,
        );
        count_line("running 4 tests", &mut c);
        assert_eq!(
            c,
            Counts {
                passed: 19,
                failed: 3,
                ignored: 2
            }
        );
    }
}
