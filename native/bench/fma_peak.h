// Measured fp32 FMA peak of this machine: every thread runs independent chains of
// vector FMAs (enough to cover the FMA latency) on registers only.
#pragma once

namespace dien {

// GFLOP/s with `threads` threads (multiply-add = 2 FLOPs), best of a few runs.
double measureFmaPeak(int threads);

}  // namespace dien
