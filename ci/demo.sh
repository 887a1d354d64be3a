#!/usr/bin/env bash
# Quick start command (1): set up, build, and run the main job — the seedgrid demo, in which
# replicas with skewed, drifting clocks replicate over a lossy network and converge.
# Extra arguments go to `seedgrid demo` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" --target seedgrid
exec ./build/tools/seedgrid demo "$@"
