// The CPU check of the engine this file is linked with (its isa_built.cpp), apart from
// isa_check.cpp so that the probe and dien_isa_run, which carry no engine, link without
// it. Compiled for the baseline, like the check itself.
#include "isa.h"

extern "C" int dien_isa_missing(char* buf, size_t size) { return dien_isa_missing_of(dien_isa_built(), buf, size); }
extern "C" int dien_isa_all_known(void) { return dien_isa_all_known_of(dien_isa_built()); }
