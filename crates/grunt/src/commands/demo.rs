pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("demo: not yet")
}
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}
