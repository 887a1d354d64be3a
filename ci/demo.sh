#!/usr/bin/env bash
# Quick start command (1): set up, build, and run the main job — the default scenario suite:
# every scenario in scenarios/ for 3 seeds, on every core, with a summary table.
# Extra arguments go to `seedgrid suite` (e.g. --seeds 20, --junit out.xml, --check-determinism).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" --target seedgrid
exec ./build/tools/seedgrid suite scenarios --seeds 3 --jobs "$(nproc)" "$@"
