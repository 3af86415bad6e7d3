#!/usr/bin/env bash
# GPU check, run on the GPU machine from the repository root (no Node needed there):
# builds the native tests and benchmark with CMake for sm_90, runs every CUDA op against
# its CPU twin, CUDA-vs-CPU parity for every variant and shape and the injected-fault
# sweep (every checked CUDA call failing in turn), benchmarks the CUDA backend (B in 1, 128, 1024, 8192;
# T in 50, 100; H in 32, 36, 108), runs the PyTorch CUDA peer on the same weights, and
# prints a short summary table last. Full logs go to $OUT (or /tmp/dien-device).
#   bash scripts/device-check.sh [--quick]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/dien-device}
mkdir -p "$OUT"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
log() { echo "[device-check $(date +%H:%M:%S)] $*"; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | tee "$OUT/gpu.txt"
log "configure + build (sm_90)"
# Warnings stay warnings there: that machine's host compiler may warn where ours does not.
if ! { cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
         -DDIEN_CUDA=ON -DDIEN_TESTS=ON -DDIEN_WERROR=OFF -DDIEN_MARCH=native &&
       cmake --build build-gpu -j"$(nproc)" --target dien_tests_native dien_bench_native; } > "$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"
  log "BUILD FAILED"
  exit 1
fi

log "native tests (CUDA ops against their CPU twins, CUDA parity against the CPU backend)"
DIEN_TEST_VERBOSE=1 timeout 600 ./build-gpu/dien_tests_native > "$OUT/tests.log" 2>&1
TESTS_RC=$?
grep -E "^(ok|FAIL|skip)|passed" "$OUT/tests.log"
WORST=$(grep -E "^  cuda " "$OUT/tests.log" | awk '{print $NF}' | sort -g | tail -1)
WORST_OP=$(grep -E "^  op " "$OUT/tests.log" | awk '{print $NF}' | sort -g | tail -1)

log "compute-sanitizer (memcheck, racecheck) on the smoke test"
for tool in memcheck racecheck; do
  if command -v compute-sanitizer > /dev/null; then
    timeout 300 compute-sanitizer --tool $tool --error-exitcode 3 ./build-gpu/dien_tests_native cuda_smoke > "$OUT/sanitizer-$tool.log" 2>&1
    echo "compute-sanitizer $tool: rc=$? ($(grep -cE 'ERROR SUMMARY: [1-9]|Invalid|Race' "$OUT/sanitizer-$tool.log") error lines)"
  fi
done

log "benchmarks"
: > "$OUT/rows.txt"
CONFIGS="36:100 36:50 32:100 108:100"
[ $QUICK = 1 ] && CONFIGS="36:100"
for cfg in $CONFIGS; do
  H=${cfg%%:*}; T=${cfg##*:}
  extra=()
  [ "$H:$T" = "36:100" ] && extra=(--save "$OUT/model.safetensors")
  timeout 300 ./build-gpu/dien_bench_native --device cuda --hidden "$H" --maxlen "$T" --peak 1 "${extra[@]}" 2>> "$OUT/rows.txt" | tee -a "$OUT/bench.log"
done
timeout 120 ./build-gpu/dien_bench_native --device cpu --batches 1,128,1024 2>> "$OUT/rows.txt" | tee -a "$OUT/bench.log"

log "PyTorch CUDA peer (same weights, paper defaults)"
if [ -f "$OUT/model.safetensors" ]; then
  timeout 300 python3 python/bench_torch_cuda.py "$OUT/model.safetensors" > "$OUT/torch.log" 2>&1 || tail -20 "$OUT/torch.log"
  cat "$OUT/torch.log" | grep -v "^TORCHROW" | tail -3
fi

# Summary table.
{
  echo
  echo "== dien device check: $(head -1 "$OUT/gpu.txt") =="
  echo "native tests: $(grep -E 'passed' "$OUT/tests.log" | tail -1) (rc=$TESTS_RC); worst CUDA-vs-CPU relative error: model ${WORST:-n/a}, op ${WORST_OP:-n/a}"
  for tool in memcheck racecheck; do
    [ -f "$OUT/sanitizer-$tool.log" ] && echo "compute-sanitizer $tool: $(grep -E 'ERROR SUMMARY' "$OUT/sanitizer-$tool.log" | tail -1)"
  done
  printf "%-6s %4s %4s %6s %14s %12s %14s %8s\n" device H T B samples/s latency_ms torch_samples/s ratio
  while read -r line; do
    case "$line" in ROW*) ;; *) continue ;; esac
    dev=$(sed -E 's/.*device=([a-z]+).*/\1/' <<< "$line"); H=$(sed -E 's/.* H=([0-9]+).*/\1/' <<< "$line")
    T=$(sed -E 's/.* T=([0-9]+).*/\1/' <<< "$line"); B=$(sed -E 's/.* B=([0-9]+).*/\1/' <<< "$line")
    sps=$(sed -E 's/.*samples_per_s=([0-9.]+).*/\1/' <<< "$line"); lat=$(sed -E 's/.*latency_ms=([0-9.]+).*/\1/' <<< "$line")
    tsps="-"; ratio="-"
    if [ "$dev" = cuda ] && [ "$H" = 36 ] && [ "$T" = 100 ] && [ -f "$OUT/torch.log" ]; then
      tsps=$(grep -E "^TORCHROW B=$B " "$OUT/torch.log" | sed -E 's/.*samples_per_s=([0-9.]+).*/\1/')
      [ -n "$tsps" ] && ratio=$(awk -v a="$sps" -v b="$tsps" 'BEGIN { printf "%.1fx", a / b }') || tsps="-"
    fi
    printf "%-6s %4s %4s %6s %14s %12s %14s %8s\n" "$dev" "$H" "$T" "$B" "$sps" "$lat" "$tsps" "$ratio"
  done < "$OUT/rows.txt"
} | tee "$OUT/summary.txt"
exit $TESTS_RC
