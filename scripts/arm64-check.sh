#!/usr/bin/env bash
# linux-arm64: cross-builds the addon and the native tests with Debian's aarch64
# toolchain (g++-aarch64-linux-gnu; cmake/aarch64-linux-gnu.cmake), checks that the
# engine is aarch64 code with NEON vectors in its GEMM and recurrence, runs the native
# tests under qemu-aarch64 (Debian's qemu-user), and leaves the addon in
# prebuilds/linux-arm64/ for the package. Used by .ci/run; a few minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" > /dev/null || { echo "arm64-check: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2; exit 1; }
done

out=build-arm64
node scripts/build-native.js --out "$out" --CDCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
  --CDDIEN_TESTS=ON --CDDIEN_CUDA=OFF --CDDIEN_WERROR=ON

echo "== what was built"
for f in "$out/Release/dien-baseline.node" "$out/Release/dien-cpu.node" "$out/dien_tests_baseline"; do
  machine=$(aarch64-linux-gnu-readelf -h "$f" | sed -n 's/^ *Machine: *//p')
  echo "$f: $machine"
  [ "$machine" = "AArch64" ] || { echo "arm64-check: $f is not an AArch64 object" >&2; exit 1; }
done
# NEON in the hot loops: the GEMM's and the recurrence's fused multiply-adds are vector ones.
for f in gemm recurrence; do
  obj=$(find "$out" -path "*dien_core_baseline.dir*" -name "$f.cpp.o" | head -1)
  n=$(aarch64-linux-gnu-objdump -d "$obj" | grep -cE 'fmla\s+v[0-9]+\.4s' || true)
  echo "$f: $n NEON fmla (4 x fp32)"
  [ "$n" -gt 0 ] || { echo "arm64-check: $f has no NEON fmla" >&2; exit 1; }
done

echo "== native tests under qemu-aarch64"
QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64 "$out/dien_tests_baseline"

node scripts/prebuild.js --from "$out/Release" --arch arm64
