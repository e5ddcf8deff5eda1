# Conveniences only: README and .ci/run do not need `just`.

# What CI checks before the tests.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# The test suite (real git, sshd and Slurm where installed).
test:
    cargo test --workspace

# Figures: ssh fetch/push and the round trip over loopback ssh.
bench:
    cargo run --release -p grunt-tests --bin sshbench

# A full local round trip in a throwaway directory.
demo:
    cargo build --release
    target/release/grunt demo
