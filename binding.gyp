{
  "targets": [
    {
      "target_name": "dien",
      "sources": [
        "native/common/json.cpp",
        "native/model/batch.cpp",
        "native/model/config.cpp",
        "native/model/derived.cpp",
        "native/model/engine.cpp",
        "native/model/safetensors.cpp",
        "native/model/weights.cpp",
        "native/cpu/cpu_backend.cpp",
        "native/cpu/gemm.cpp",
        "native/cpu/packed_weights.cpp",
        "native/cpu/recurrence.cpp",
        "native/cpu/thread_pool.cpp",
        "native/cpu/workspace.cpp",
        "native/cuda/device_probe_none.cpp",
        "native/napi/addon.cpp",
        "native/napi/errors.cpp",
        "native/napi/model_wrap.cpp",
        "native/napi/typed_arrays.cpp"
      ],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-mprefer-vector-width=512", "-fopenmp-simd", "-Wall", "-Wextra"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] }
      }
    }
  ]
}
