//! The fragmentation table written by `benches/fragmentation.rs` (`<target>/fragmentation.json`),
//! rendered for the report command.

use std::path::Path;

use serde_json::Value;

/// The table as markdown, or `None` when the bench has not been run.
pub fn render(target_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(target_dir.join("fragmentation.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let region = v["region_bytes"].as_u64()?;
    let mut out = format!(
        "### Allocators — one inference trace in a {} MiB region (fragmentation lower, others higher is better)\n\n\
         | allocator | fragmentation at peak | reuse rate | heap efficiency |\n|---|---:|---:|---:|\n",
        region >> 20
    );
    for r in v["rows"].as_array()? {
        out += &format!(
            "| {} | {:.3} | {:.3} | {:.3} |\n",
            r["allocator"].as_str()?,
            r["fragmentation_at_peak"].as_f64()?,
            r["reuse_rate"].as_f64()?,
            r["heap_efficiency"].as_f64()?
        );
    }
    Some(out)
}
