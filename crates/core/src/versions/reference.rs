//! A model version's reference dataset: the data drift is measured against, kept in the registry
//! as a signed event (`set_dataset`) naming the path, the commit and the bytes' md5.

use std::io::Read;

use md5::Digest;
use serde_json::json;

use super::open::Body;
use crate::index::Index;
use crate::registry::{Identity, RegistryChange, Written};
use crate::Error;

impl Index {
    /// Sets `spec` (`PATH` or `PATH@REV`, a table) as the reference dataset of `target`
    /// (NAME@VERSION or NAME@ALIAS). The event records the path, the commit ("workspace" for the
    /// working tree), the md5 of the bytes and the md5 DVC recorded, if any.
    pub fn data_reference(&self, target: &str, spec: &str, who: &Identity, now: i64) -> Result<Written, Error> {
        let bytes = self.data_open(spec)?;
        if crate::table::format_of(&bytes.path).is_none() {
            return Err(Error::Refused(format!("{}: a reference dataset is a table (CSV, TSV, JSONL)", bytes.path)));
        }
        let mut h = md5::Md5::new();
        let mut size = 0u64;
        match &bytes.body {
            Body::Memory(b) => {
                h.update(b);
                size = b.len() as u64;
            }
            Body::File(p) => {
                let fs = crate::files::ProjectFs::new(&self.root);
                let mut f = fs.open(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let k = f.read(&mut buf).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
                    if k == 0 {
                        break;
                    }
                    h.update(&buf[..k]);
                    size += k as u64;
                }
            }
        }
        let md5: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let dataset = json!({
            "path": bytes.path,
            "rev": bytes.rev,
            "md5": md5,
            "size": size,
            "dvc_md5": bytes.md5,
        });
        self.registry_change(target, RegistryChange::SetDataset(dataset), who, now)
    }
}
