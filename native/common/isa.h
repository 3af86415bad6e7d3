// The instruction sets a build of the engine relies on, and the ones this CPU has.
// Code compiled with -march=<target> (DIEN_MARCH, default "native") may use any
// instruction its target enables, so a binary built on one machine can die with SIGILL
// on another. The module's entry point (napi/module_entry.cpp, compiled for the
// baseline ISA, as is isa_check.cpp) compares the two before any other code of the
// addon runs, and refuses to load with DIEN_UNSUPPORTED_CPU instead.
//
// Plain C interface: the checking side must not call inline C++ that the linker might
// take from a translation unit built for the newer ISA.
#pragma once

#include <stddef.h>

extern "C" {
// The -march the build targeted ("native", "x86-64-v3", ...; "" for the compiler's default).
const char* dien_isa_march(void);
// The CPU features the build's code may use, space-separated ("sse3 ssse3 ... avx512f").
const char* dien_isa_built(void);
// The features of dien_isa_built() this CPU lacks, space-separated, into buf; returns
// how many. Always 0 off x86-64 (no check there yet).
int dien_isa_missing(char* buf, size_t size);
// Every feature of the checked table this CPU has, space-separated, into buf.
void dien_isa_running(char* buf, size_t size);
// 1 when every feature name of dien_isa_built() is one the check knows (a test hook).
int dien_isa_all_known(void);
}
