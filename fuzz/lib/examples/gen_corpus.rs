//! Writes every target's seeds into `corpus/<target>/` and the dictionary `fuzz/mig_dispatch.dict`:
//! `cargo run -p kobject-fuzz --example gen_corpus`. `tests/replay.rs` checks the committed
//! corpus holds exactly these bytes, so regenerate after changing a seed or an input type. The
//! seeds made from `corpus/regressions/` (`Target::derived_seeds`) follow those files as they are
//! when this runs; they are replayed, not compared.

use std::path::PathBuf;

use kobject_fuzz::targets::Target;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
    for target in Target::ALL {
        let dir = root.join(target.name());
        std::fs::create_dir_all(&dir)?;
        let seeds = target.seeds();
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes)?;
        }
        let derived = target.derived_seeds(&root);
        for (name, bytes) in &derived {
            std::fs::write(dir.join(name), bytes)?;
        }
        println!(
            "{}: {} seeds and {} made from corpus/regressions in {}",
            target.name(),
            seeds.len(),
            derived.len(),
            dir.display()
        );
    }
    let dict = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mig_dispatch.dict");
    std::fs::write(&dict, kobject_fuzz::mig_dispatch::seeds::dictionary())?;
    println!("dictionary: {}", dict.display());
    Ok(())
}
