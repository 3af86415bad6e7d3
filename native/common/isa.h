// The instruction sets a build of the engine relies on, and the ones this CPU has.
// Code compiled with -march=<target> may use any instruction its target enables, so a
// binary built for one CPU can die with SIGILL on another. The engine is built once per
// ISA level (CMakeLists.txt); the probe (napi/cpu_probe.cpp) tells the loader which
// levels this CPU runs, and each level's entry point (napi/module_entry.cpp, compiled
// for the baseline ISA, as is isa_check.cpp) checks again before any other code of the
// addon runs, refusing with DIEN_UNSUPPORTED_CPU instead of a SIGILL.
//
// Plain C interface: the checking side must not call inline C++ that the linker might
// take from a translation unit built for the newer ISA.
#pragma once

#include <stddef.h>

extern "C" {
// The -march the build targeted ("native", "x86-64-v3", ...; "" for the compiler's default).
const char* dien_isa_march(void);
// The ISA level of this engine (avx512, avx2, baseline, native, custom; "" outside one).
const char* dien_isa_level(void);
// The CPU features the build's code may use, space-separated ("sse3 ssse3 ... avx512f").
const char* dien_isa_built(void);
// The features of dien_isa_built() this CPU lacks, space-separated, into buf; returns
// how many. Always 0 off x86-64 (no check there yet).
int dien_isa_missing(char* buf, size_t size);
// Every feature of the checked table this CPU has, space-separated, into buf.
void dien_isa_running(char* buf, size_t size);
// 1 when every feature name of dien_isa_built() is one the check knows (a test hook).
int dien_isa_all_known(void);
// The same two for any list of feature names (an ISA level's, isa_levels.cpp).
int dien_isa_missing_of(const char* built, char* buf, size_t size);
int dien_isa_all_known_of(const char* built);

// The ISA levels this build made, best first (isa_levels.cpp: the probe and dien_isa_run).
int dien_isa_level_count(void);
// Of level i (0 <= i < count; NULL otherwise): its name (avx512, avx2, baseline, native,
// custom), its -march and the features its code may use.
const char* dien_isa_level_name(int i);
const char* dien_isa_level_march(int i);
const char* dien_isa_level_built(int i);
}
