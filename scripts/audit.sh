#!/usr/bin/env bash
# Known vulnerabilities in the dependency tree: `cargo deny check advisories` against the RustSec
# advisory database, fetched from GitHub. Not part of scripts/test.sh: CI reaches package
# registries only, and the database is published nowhere else. Run it where GitHub is reachable.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"
stage "cargo-deny" ensure_cargo_deny
stage "advisories" cargo deny --locked check advisories
