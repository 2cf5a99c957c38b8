#!/usr/bin/env bash
# Installs what is missing and runs every check CI runs (.ci/run calls exactly this):
# formatting, the UI's type-check, unit tests and build, clippy, and all Rust tests, including
# the desktop app driven end to end under its own Xvfb. Screenshots: target/e2e/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"

stage "toolchains" ensure_toolchains
stage "disk space" ensure_disk
stage "system packages" ensure_packages "${APP_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
stage "rust components" ensure_rust_components
stage "tauri-driver" ensure_tauri_driver
stage "node modules" ensure_node_modules
stage "seaweedfs" ensure_seaweedfs
stage "azurite" ensure_azurite
stage "mlflow" ensure_mlflow
stage "spark" ensure_spark
stage "tritonclient" ensure_tritonclient
stage "kubernetes-validate" ensure_kubernetes_validate
stage "model-signing" ensure_model_signing
stage "cyclonedx" ensure_cyclonedx
stage "cargo-deny" ensure_cargo_deny

# Every crate of the lock file, for every platform: cargo-deny reads them offline, and a
# build only fetches its own platform's (winapi, accesskit_ios... are missing on a new machine).
stage "crates" cargo fetch --locked
stage "cargo fmt" cargo fmt --all --check
stage "ui type-check" bash -c "cd ui && npm run --silent check"
stage "ui unit tests" bash -c "cd ui && npm run --silent test"
# The desktop binary embeds ui/dist at compile time, so the UI is built before any cargo step.
stage "ui build" build_ui
stage "clippy" cargo clippy --locked --workspace --all-targets -- -D warnings
# After clippy: the crates are in the cargo cache by then, which cargo-deny reads offline.
stage "cargo deny" cargo deny --offline --locked --log-level error check licenses bans sources
stage "rustdoc" env RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps
stage "cargo test" cargo test --locked --workspace
echo "all checks passed in $((SECONDS - STARTED_AT)) s"
