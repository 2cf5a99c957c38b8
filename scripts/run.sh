#!/usr/bin/env bash
# Installs what is missing, builds Lathe, and opens the desktop app on the demo project.
#   LATHE_DEMO_DIR  where the demo project lives (default ~/.local/share/lathe/demo)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO_DIR="${LATHE_DEMO_DIR:-$HOME/.local/share/lathe/demo}"

stage "toolchains" ensure_toolchains
stage "disk space" ensure_disk
stage "system packages" ensure_packages "${APP_PACKAGES[@]}"
stage "node modules" ensure_node_modules
stage "ui build" build_ui
# The same package set and features as the test command, so one build serves both.
stage "cargo build" cargo build --locked -p lathe-cli -p lathe-desktop

if [ ! -f "$DEMO_DIR/lathe.sqlite" ]; then
  stage "demo project" "$CARGO_TARGET_DIR/debug/lathe" demo "$DEMO_DIR"
fi
echo "opening $DEMO_DIR"
exec "$CARGO_TARGET_DIR/debug/lathe-desktop" "$DEMO_DIR"
