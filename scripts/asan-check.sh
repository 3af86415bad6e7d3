#!/usr/bin/env bash
# The native tests, and the suites that attack the binding (memory safety, validation,
# weight files (quantised ones too), worker threads, scoring paths, Rocket Launching, the
# seeded fuzz surfaces), against a build with AddressSanitizer and UBSan. Node itself is
# not instrumented: libasan is preloaded so that the addon's every access is checked.
# Any report fails the run. Used by .ci/run; needs gcc's libasan.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build-asan
# One engine, for this machine (the ISA levels' code is the same source; this is the one
# that runs here at full width).
node scripts/build-native.js --out "$out" --CDDIEN_SANITIZE=address,undefined --CDDIEN_TESTS=ON --CDDIEN_MARCH=native \
  --CDDIEN_CUDA=OFF --CDDIEN_WERROR=ON --CDCMAKE_BUILD_TYPE=RelWithDebInfo

# Node keeps memory alive until exit by design: leak reports would be noise here.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:verify_asan_link_order=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== native tests under ASan + UBSan, and LeakSanitizer (no Node there: every leak is ours)"
ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=0/detect_leaks=1}" "$out/dien_tests_native"

echo "== binding suites under ASan + UBSan"
libasan=$(gcc -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "asan-check: gcc's libasan.so not found" >&2; exit 1; }
LD_PRELOAD="$libasan" DIEN_ADDON_PATH="$PWD/$out/Release/dien-native.node" \
  npx vitest run test/memory-safety.test.ts test/validation.test.ts test/weights.test.ts test/worker.test.ts test/scheduling.test.ts test/training.test.ts \
    test/parity.test.ts test/scorer.test.ts test/quantize.test.ts test/rocket.test.ts test/concurrency.test.ts
echo "== the fuzz surfaces that reach native code, under ASan + UBSan"
LD_PRELOAD="$libasan" DIEN_ADDON_PATH="$PWD/$out/Release/dien-native.node" \
  npx vitest run test/fuzz.test.ts -t "fuzzed (weights|batches|vocab)"
