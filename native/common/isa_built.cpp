// Compiled with the same -march flags as the engine: the predefined macros say what
// the compiler may emit. Features only reachable through intrinsics (AMX, SHA512, ...)
// are left out: the engine uses none. A new feature goes here and into isa_check.cpp. The function only returns a
// string constant, so calling it needs no instruction beyond the baseline.
#include "isa.h"

#ifndef DIEN_MARCH_NAME
#define DIEN_MARCH_NAME ""
#endif
// The probe and the test launcher compile this file once per ISA level, each copy under
// its own names (dien_isa_<level>_march, ...): see isa_levels.cpp.
#ifndef DIEN_ISA_PREFIX
#define DIEN_ISA_PREFIX dien_isa
#endif
#define DIEN_ISA_JOIN2(a, b) a##_##b
#define DIEN_ISA_JOIN(a, b) DIEN_ISA_JOIN2(a, b)

#ifndef DIEN_LEVEL_NAME
#define DIEN_LEVEL_NAME ""
#endif

extern "C" const char* DIEN_ISA_JOIN(DIEN_ISA_PREFIX, march)(void) { return DIEN_MARCH_NAME; }
extern "C" const char* DIEN_ISA_JOIN(DIEN_ISA_PREFIX, level)(void) { return DIEN_LEVEL_NAME; }

extern "C" const char* DIEN_ISA_JOIN(DIEN_ISA_PREFIX, built)(void) {
  return ""
#ifdef __SSE3__
         " sse3"
#endif
#ifdef __SSSE3__
         " ssse3"
#endif
#ifdef __SSE4_1__
         " sse4.1"
#endif
#ifdef __SSE4_2__
         " sse4.2"
#endif
#ifdef __SSE4A__
         " sse4a"
#endif
#ifdef __POPCNT__
         " popcnt"
#endif
#ifdef __CRC32__
         " crc32"
#endif
#ifdef __GCC_HAVE_SYNC_COMPARE_AND_SWAP_16
         " cx16"
#endif
#ifdef __LAHF_SAHF__
         " sahf"
#endif
#ifdef __ABM__
         " abm"
#endif
#ifdef __TBM__
         " tbm"
#endif
#ifdef __LZCNT__
         " lzcnt"
#endif
#ifdef __MOVBE__
         " movbe"
#endif
#ifdef __PCLMUL__
         " pclmul"
#endif
#ifdef __AES__
         " aes"
#endif
#ifdef __SHA__
         " sha"
#endif
#ifdef __ADX__
         " adx"
#endif
#ifdef __RDRND__
         " rdrnd"
#endif
#ifdef __RDSEED__
         " rdseed"
#endif
#ifdef __PRFCHW__
         " prfchw"
#endif
#ifdef __CLFLUSHOPT__
         " clflushopt"
#endif
#ifdef __CLWB__
         " clwb"
#endif
#ifdef __BMI__
         " bmi"
#endif
#ifdef __BMI2__
         " bmi2"
#endif
#ifdef __AVX__
         " avx"
#endif
#ifdef __F16C__
         " f16c"
#endif
#ifdef __FMA__
         " fma"
#endif
#ifdef __FMA4__
         " fma4"
#endif
#ifdef __XOP__
         " xop"
#endif
#ifdef __AVX2__
         " avx2"
#endif
#ifdef __AVXVNNI__
         " avxvnni"
#endif
#ifdef __AVXIFMA__
         " avxifma"
#endif
#ifdef __AVXVNNIINT8__
         " avxvnniint8"
#endif
#ifdef __AVXVNNIINT16__
         " avxvnniint16"
#endif
#ifdef __AVXNECONVERT__
         " avxneconvert"
#endif
#ifdef __GFNI__
         " gfni"
#endif
#ifdef __VAES__
         " vaes"
#endif
#ifdef __VPCLMULQDQ__
         " vpclmulqdq"
#endif
#ifdef __AVX512F__
         " avx512f"
#endif
#ifdef __AVX512CD__
         " avx512cd"
#endif
#ifdef __AVX512VL__
         " avx512vl"
#endif
#ifdef __AVX512BW__
         " avx512bw"
#endif
#ifdef __AVX512DQ__
         " avx512dq"
#endif
#ifdef __AVX512IFMA__
         " avx512ifma"
#endif
#ifdef __AVX512VBMI__
         " avx512vbmi"
#endif
#ifdef __AVX512VBMI2__
         " avx512vbmi2"
#endif
#ifdef __AVX512VNNI__
         " avx512vnni"
#endif
#ifdef __AVX512BITALG__
         " avx512bitalg"
#endif
#ifdef __AVX512VPOPCNTDQ__
         " avx512vpopcntdq"
#endif
#ifdef __AVX512BF16__
         " avx512bf16"
#endif
#ifdef __AVX512FP16__
         " avx512fp16"
#endif
#ifdef __AVX512VP2INTERSECT__
         " avx512vp2intersect"
#endif
#ifdef __AVX512ER__
         " avx512er"
#endif
#ifdef __AVX512PF__
         " avx512pf"
#endif
#ifdef __AVX5124FMAPS__
         " avx5124fmaps"
#endif
#ifdef __AVX5124VNNIW__
         " avx5124vnniw"
#endif
#ifdef __AVX10_1__
         " avx10.1"
#endif
#ifdef __APX_F__
         " apxf"
#endif
      ;
}
