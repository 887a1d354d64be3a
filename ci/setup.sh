#!/usr/bin/env bash
# Installs the Debian packages seedgrid builds with. Idempotent: when every package is present it
# prints nothing and exits 0. Needs root (or sudo) only when something is missing.
#   bash ci/setup.sh                 what the build, the tests and the tool need
#   bash ci/setup.sh --with-fuzzer   also clang and its runtime, for the libFuzzer build
#                                    (cmake --preset fuzz; the nightly job)
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config git python3 python3-yaml
  libabsl-dev libflatbuffers-dev flatbuffers-compiler
  librapidcheck-dev libgtest-dev libgmock-dev googletest
  libfmt-dev libbenchmark-dev libxxhash-dev libsqlite3-dev libcli11-dev nlohmann-json3-dev
  libboost1.81-dev curl
)
# Optional: with clang-format, the style check runs as a test; with chromium, the timeline page is
# rendered by a headless browser in a test (seedgrid_timeline_browser, skipped without it).
optional=(clang-format chromium)
if [[ $# -gt 1 ]]; then
  echo "ci/setup.sh: one option at most, got: $*" >&2
  exit 2
fi
case "${1:-}" in
  "") ;;
  --with-fuzzer) packages+=(clang libclang-rt-14-dev) ;;
  *) echo "ci/setup.sh: unknown option '$1' (try --with-fuzzer)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "ci/setup.sh: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# Optional packages may be absent from a mirror; install the required set first.
req=()
for p in "${missing[@]}"; do
  [[ " ${optional[*]} " == *" $p "* ]] || req+=("$p")
done
if [[ ${#req[@]} -gt 0 ]]; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${req[@]}" >/dev/null
fi
for p in "${optional[@]}"; do
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
    echo "ci/setup.sh: optional package $p unavailable; continuing without it"
done
