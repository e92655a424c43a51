//! Kernel module dependency closure, read from each module's `.modinfo`
//! `depends=` entry (the Debian package ships no `modules.dep`: depmod makes it
//! at install time).

use anyhow::bail;
use anyhow::Context;
use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;

/// Normalises a module name (`vfio-pci` and `vfio_pci` are the same module).
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// Extracts the `depends=` list from a module's bytes.
pub fn depends_of(ko: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"\0depends=";
    let Some(pos) = ko.windows(KEY.len()).position(|w| w == KEY) else {
        return Vec::new();
    };
    let rest = &ko[pos + KEY.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|s| !s.is_empty())
        .map(normalize)
        .collect()
}

/// All modules of a kernel: name → path relative to `lib/modules/<release>/`.
pub struct ModuleIndex {
    root: PathBuf,
    by_name: HashMap<String, PathBuf>,
}

impl ModuleIndex {
    /// Indexes `lib/modules/<release>` (the `kernel/` tree under it).
    pub fn new(root: &Path) -> anyhow::Result<Self> {
        let mut by_name = HashMap::new();
        let mut stack = vec![root.join("kernel")];
        while let Some(dir) = stack.pop() {
            for e in
                std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
            {
                let p = e?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Some(stem) = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".ko"))
                {
                    let rel = p.strip_prefix(root)?.to_path_buf();
                    by_name.insert(normalize(stem), rel);
                }
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            by_name,
        })
    }

    /// `roots` and everything they depend on, dependencies first.
    pub fn closure(&self, roots: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
        let mut order = Vec::new();
        let mut state: HashMap<String, bool> = HashMap::new(); // false = visiting
        for r in roots {
            self.visit(&normalize(r), &mut state, &mut order)?;
        }
        Ok(order)
    }

    fn visit(
        &self,
        name: &str,
        state: &mut HashMap<String, bool>,
        order: &mut Vec<PathBuf>,
    ) -> anyhow::Result<()> {
        match state.get(name) {
            Some(true) => return Ok(()),
            Some(false) => bail!("module dependency cycle at {name}"),
            None => {}
        }
        let Some(rel) = self.by_name.get(name) else {
            bail!(
                "kernel module {name} not found under {}",
                self.root.display()
            );
        };
        state.insert(name.to_string(), false);
        let bytes = std::fs::read(self.root.join(rel))?;
        for dep in depends_of(&bytes) {
            self.visit(&dep, state, order)?;
        }
        state.insert(name.to_string(), true);
        order.push(rel.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_depends() {
        let ko = b"\x7fELF junk\0license=GPL\0depends=vfio-pci-core,vfio\0intree=Y\0";
        assert_eq!(depends_of(ko), vec!["vfio_pci_core", "vfio"]);
        assert!(depends_of(b"\0depends=\0name=x\0").is_empty());
        assert!(depends_of(b"no modinfo").is_empty());
    }

    #[test]
    fn closure_orders_dependencies_first() {
        let dir = std::env::temp_dir().join(format!("flowey-mod-test-{}", std::process::id()));
        let k = dir.join("kernel/drivers");
        std::fs::create_dir_all(&k).unwrap();
        std::fs::write(k.join("a.ko"), b"\0depends=b,c-d\0").unwrap();
        std::fs::write(k.join("b.ko"), b"\0depends=c_d\0").unwrap();
        std::fs::write(k.join("c-d.ko"), b"\0depends=\0").unwrap();
        let idx = ModuleIndex::new(&dir).unwrap();
        let order = idx.closure(&["a", "b"]).unwrap();
        let names: Vec<_> = order
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["c-d.ko", "b.ko", "a.ko"]);
        assert!(idx.closure(&["missing"]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
