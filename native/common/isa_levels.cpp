// The table of the ISA levels this build made, for the probe (napi/cpu_probe.cpp) and
// the test launcher (isa_run.cpp). DIEN_ISA_LEVEL_LIST is X(avx512)X(avx2)... from
// CMakeLists.txt; each level's isa_built.cpp copy defines dien_isa_<level>_march/_built.
// Compiled for the baseline: those functions only return string constants.
#include "isa.h"

#ifndef DIEN_ISA_LEVEL_LIST
#error "DIEN_ISA_LEVEL_LIST must list the levels, e.g. X(avx2)X(baseline)"
#endif

#define X(level)                                         \
  extern "C" const char* dien_isa_##level##_march(void); \
  extern "C" const char* dien_isa_##level##_built(void);
DIEN_ISA_LEVEL_LIST
#undef X

namespace {

struct Level {
  const char* name;
  const char* (*march)(void);
  const char* (*built)(void);
};

#define X(level) {#level, dien_isa_##level##_march, dien_isa_##level##_built},
const Level kLevels[] = {DIEN_ISA_LEVEL_LIST};
#undef X

constexpr int kCount = static_cast<int>(sizeof kLevels / sizeof kLevels[0]);

}  // namespace

extern "C" int dien_isa_level_count(void) { return kCount; }
extern "C" const char* dien_isa_level_name(int i) { return i >= 0 && i < kCount ? kLevels[i].name : nullptr; }
extern "C" const char* dien_isa_level_march(int i) { return i >= 0 && i < kCount ? kLevels[i].march() : nullptr; }
extern "C" const char* dien_isa_level_built(int i) { return i >= 0 && i < kCount ? kLevels[i].built() : nullptr; }
