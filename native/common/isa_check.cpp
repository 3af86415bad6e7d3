// The running CPU's features from cpuid and xgetbv (features that need OS support, AVX
// and AVX-512 state, count only when the OS saves that state). Compiled for the
// baseline ISA, in C style, because it runs before the addon knows it may use more.
#include <stdio.h>
#include <string.h>

#include "isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

namespace {

struct CpuRegs {
  unsigned l1c = 0, l1d = 0, l7b = 0, l7c = 0, l7d = 0, l71a = 0, l71d = 0, e1c = 0;
  bool avxState = false, avx512State = false, apxState = false;
};

CpuRegs readCpu() {
  CpuRegs r;
  unsigned a = 0, b = 0, c = 0, d = 0;
  const unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  if (maxLeaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) {
    r.l1c = c;
    r.l1d = d;
  }
  if (maxLeaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    r.l7b = b;
    r.l7c = c;
    r.l7d = d;
    if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
      r.l71a = a;
      r.l71d = d;
    }
  }
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000001u && __get_cpuid(0x80000001u, &a, &b, &c, &d)) r.e1c = c;
  if (r.l1c & (1u << 27)) {  // OSXSAVE: xgetbv exists and says which register state the OS saves
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    r.avxState = (lo & 0x6u) == 0x6u;       // SSE and AVX state
    r.avx512State = (lo & 0xe6u) == 0xe6u;  // plus opmask and the upper ZMM state
    r.apxState = (lo & (1u << 19)) != 0;    // APX's extended general registers
  }
  return r;
}

enum Needs { Plain, Avx, Avx512, Apx };

struct Feature {
  const char* name;
  const unsigned CpuRegs::*reg;
  unsigned bit;
  Needs needs;
};

// The features isa_built.cpp can report, and where cpuid keeps them.
const Feature kFeatures[] = {
    {"sse3", &CpuRegs::l1c, 0, Plain},
    {"ssse3", &CpuRegs::l1c, 9, Plain},
    {"sse4.1", &CpuRegs::l1c, 19, Plain},
    {"sse4.2", &CpuRegs::l1c, 20, Plain},
    {"sse4a", &CpuRegs::e1c, 6, Plain},
    {"popcnt", &CpuRegs::l1c, 23, Plain},
    {"lzcnt", &CpuRegs::e1c, 5, Plain},
    {"movbe", &CpuRegs::l1c, 22, Plain},
    {"pclmul", &CpuRegs::l1c, 1, Plain},
    {"aes", &CpuRegs::l1c, 25, Plain},
    {"sha", &CpuRegs::l7b, 29, Plain},
    {"adx", &CpuRegs::l7b, 19, Plain},
    {"rdrnd", &CpuRegs::l1c, 30, Plain},
    {"rdseed", &CpuRegs::l7b, 18, Plain},
    {"prfchw", &CpuRegs::e1c, 8, Plain},
    {"clflushopt", &CpuRegs::l7b, 23, Plain},
    {"clwb", &CpuRegs::l7b, 24, Plain},
    {"bmi", &CpuRegs::l7b, 3, Plain},
    {"bmi2", &CpuRegs::l7b, 8, Plain},
    {"avx", &CpuRegs::l1c, 28, Avx},
    {"f16c", &CpuRegs::l1c, 29, Avx},
    {"fma", &CpuRegs::l1c, 12, Avx},
    {"fma4", &CpuRegs::e1c, 16, Avx},
    {"xop", &CpuRegs::e1c, 11, Avx},
    {"avx2", &CpuRegs::l7b, 5, Avx},
    {"avxvnni", &CpuRegs::l71a, 4, Avx},
    {"gfni", &CpuRegs::l7c, 8, Plain},
    {"vaes", &CpuRegs::l7c, 9, Avx},
    {"vpclmulqdq", &CpuRegs::l7c, 10, Avx},
    {"avx512f", &CpuRegs::l7b, 16, Avx512},
    {"avx512cd", &CpuRegs::l7b, 28, Avx512},
    {"avx512vl", &CpuRegs::l7b, 31, Avx512},
    {"avx512bw", &CpuRegs::l7b, 30, Avx512},
    {"avx512dq", &CpuRegs::l7b, 17, Avx512},
    {"avx512ifma", &CpuRegs::l7b, 21, Avx512},
    {"avx512vbmi", &CpuRegs::l7c, 1, Avx512},
    {"avx512vbmi2", &CpuRegs::l7c, 6, Avx512},
    {"avx512vnni", &CpuRegs::l7c, 11, Avx512},
    {"avx512bitalg", &CpuRegs::l7c, 12, Avx512},
    {"avx512vpopcntdq", &CpuRegs::l7c, 14, Avx512},
    {"avx512bf16", &CpuRegs::l71a, 5, Avx512},
    {"avx512fp16", &CpuRegs::l7d, 23, Avx512},
    {"avx512vp2intersect", &CpuRegs::l7d, 8, Avx512},
    {"crc32", &CpuRegs::l1c, 20, Plain},
    {"cx16", &CpuRegs::l1c, 13, Plain},
    {"sahf", &CpuRegs::e1c, 0, Plain},
    {"abm", &CpuRegs::e1c, 5, Plain},
    {"tbm", &CpuRegs::e1c, 21, Plain},
    {"avxifma", &CpuRegs::l71a, 23, Avx},
    {"avxvnniint8", &CpuRegs::l71d, 4, Avx},
    {"avxvnniint16", &CpuRegs::l71d, 10, Avx},
    {"avxneconvert", &CpuRegs::l71d, 5, Avx},
    {"avx512er", &CpuRegs::l7b, 27, Avx512},
    {"avx512pf", &CpuRegs::l7b, 26, Avx512},
    {"avx5124fmaps", &CpuRegs::l7d, 3, Avx512},
    {"avx5124vnniw", &CpuRegs::l7d, 2, Avx512},
    {"avx10.1", &CpuRegs::l71d, 19, Avx512},
    {"apxf", &CpuRegs::l71d, 21, Apx},
};

const Feature* lookup(const char* name, size_t len) {
  for (const Feature& f : kFeatures)
    if (strlen(f.name) == len && strncmp(f.name, name, len) == 0) return &f;
  return nullptr;
}

bool present(const CpuRegs& r, const Feature& f) {
  if (!((r.*(f.reg) >> f.bit) & 1u)) return false;
  if (f.needs == Avx) return r.avxState;
  if (f.needs == Avx512) return r.avx512State;
  if (f.needs == Apx) return r.apxState;
  return true;
}

void append(char* buf, size_t size, const char* word, size_t len) {
  size_t used = strlen(buf);
  if (used + len + 2 > size) return;
  if (used > 0) buf[used++] = ' ';
  memcpy(buf + used, word, len);
  buf[used + len] = '\0';
}

// Calls fn(word, len) for every space-separated word of s.
template <typename F>
void forEachWord(const char* s, F fn) {
  while (*s) {
    while (*s == ' ') ++s;
    const char* end = s;
    while (*end && *end != ' ') ++end;
    if (end > s) fn(s, static_cast<size_t>(end - s));
    s = end;
  }
}

}  // namespace

extern "C" int dien_isa_missing_of(const char* built, char* buf, size_t size) {
  if (size > 0) buf[0] = '\0';
  const CpuRegs r = readCpu();
  int missing = 0;
  forEachWord(built, [&](const char* w, size_t len) {
    const Feature* f = lookup(w, len);
    if (f && present(r, *f)) return;
    ++missing;  // an unknown name counts as missing: refusing is safer than a SIGILL
    append(buf, size, w, len);
  });
  return missing;
}

extern "C" void dien_isa_running(char* buf, size_t size) {
  if (size > 0) buf[0] = '\0';
  const CpuRegs r = readCpu();
  for (const Feature& f : kFeatures)
    if (present(r, f)) append(buf, size, f.name, strlen(f.name));
}

extern "C" int dien_isa_all_known_of(const char* built) {
  int known = 1;
  forEachWord(built, [&](const char* w, size_t len) {
    if (!lookup(w, len)) known = 0;
  });
  return known;
}

#else  // not x86: no check yet (the ISA-dispatch work adds NEON and the OS's view of the CPU)

extern "C" int dien_isa_missing_of(const char*, char* buf, size_t size) {
  if (size > 0) buf[0] = '\0';
  return 0;
}
extern "C" void dien_isa_running(char* buf, size_t size) {
  if (size > 0) buf[0] = '\0';
}
extern "C" int dien_isa_all_known_of(const char*) { return 1; }

#endif
