// dien-cpu.node: the probe the loader (lib/native.ts) asks before it loads an engine.
// It reports this CPU's features and, for each ISA level the build made (best first),
// the features that level's code uses and which of them this CPU lacks. Compiled for the
// baseline and using only Node-API's C calls, so it loads on any CPU of its architecture.
#include <node_api.h>
#include <string.h>

#include "../common/isa.h"

namespace {

bool setString(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

// { running: "sse3 ...", levels: [{ name, march, built, missing }, ...] }
napi_value describe(napi_env env) {
  napi_value out, levels;
  if (napi_create_object(env, &out) != napi_ok || napi_create_array(env, &levels) != napi_ok) return nullptr;
  char running[2048];
  dien_isa_running(running, sizeof running);
  if (!setString(env, out, "running", running)) return nullptr;
  for (int i = 0; i < dien_isa_level_count(); ++i) {
    napi_value level;
    char missing[1024];
    dien_isa_missing_of(dien_isa_level_built(i), missing, sizeof missing);
    const char* built = dien_isa_level_built(i);
    while (*built == ' ') ++built;
    if (napi_create_object(env, &level) != napi_ok || !setString(env, level, "name", dien_isa_level_name(i)) ||
        !setString(env, level, "march", dien_isa_level_march(i)) || !setString(env, level, "built", built) ||
        !setString(env, level, "missing", missing) ||
        napi_set_element(env, levels, static_cast<uint32_t>(i), level) != napi_ok)
      return nullptr;
  }
  if (napi_set_named_property(env, out, "levels", levels) != napi_ok) return nullptr;
  return out;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value cpu = describe(env);
  if (cpu == nullptr) {
    napi_throw_error(env, "DIEN_NATIVE_LOAD", "dien: the CPU probe (dien-cpu.node) could not build its answer");
    return nullptr;
  }
  if (napi_set_named_property(env, exports, "cpu", cpu) != napi_ok) return nullptr;
  return exports;
}
