// An engine level's entry point, compiled for the baseline ISA: it checks that this CPU
// has every instruction set the rest of the addon was built for (common/isa.h) before
// running any of it, and otherwise fails the require() with DIEN_UNSUPPORTED_CPU and
// the fix, instead of dying later with SIGILL. The loader (lib/native.ts) asks the probe
// first and never loads a level this CPU lacks; this check guards a build made with
// DIEN_MARCH and a file loaded by path. Only the Node-API C calls are used here.
#include <node_api.h>
#include <stdio.h>

#include "../common/isa.h"

// The rest of the addon's initialisation (addon.cpp).
napi_value dienInitAddon(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  char missing[512];
  if (dien_isa_missing(missing, sizeof missing) > 0) {
    char message[1024];
    const char* march = dien_isa_march();
    snprintf(
        message, sizeof message,
        "dien: this native addon (ISA level %s) was built for -march=%s and uses instructions this CPU lacks (%s). "
        "Load the package's own build (it picks a level this CPU runs), rebuild it with `npm rebuild dien`, "
        "or build for an older target, for example `DIEN_MARCH=x86-64-v2 npm rebuild dien` (docs: README, \"CPUs and "
        "ISA levels\").",
        dien_isa_level()[0] ? dien_isa_level() : "custom", march[0] ? march : "(compiler default)", missing);
    napi_throw_error(env, "DIEN_UNSUPPORTED_CPU", message);
    return nullptr;
  }
  return dienInitAddon(env, exports);
}
