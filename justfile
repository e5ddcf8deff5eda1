# Conveniences only: README and .ci/run do not need `just`.

# What CI checks before the tests.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# The test suite (real git, sshd and Slurm where installed).
test:
    cargo test --workspace

# Figures: costs at 10,000 jobs, grund at 1,000 projects, and ssh fetch/push over loopback.
bench:
    cargo build --release -p grunt -p grund
    cargo run --release -p grunt-tests --bin scale
    cargo run --release -p grunt-tests --bin grund-scale
    cargo run --release -p grunt-tests --bin sshbench

# A full local round trip in a throwaway directory.
demo:
    cargo build --release
    target/release/grunt demo
