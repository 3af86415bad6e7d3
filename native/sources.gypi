{
  "variables": {
    "dien_core_sources": [
      "native/common/isa_built.cpp",
      "native/common/json.cpp",
      "native/data/vocab_index.cpp",
      "native/model/batch.cpp",
      "native/model/config.cpp",
      "native/model/derived.cpp",
      "native/model/engine.cpp",
      "native/model/quantize.cpp",
      "native/model/safetensors.cpp",
      "native/model/tensors.cpp",
      "native/model/weight_file.cpp",
      "native/model/weights.cpp",
      "native/cpu/attention.cpp",
      "native/cpu/cpu_backend.cpp",
      "native/cpu/embed.cpp",
      "native/cpu/gemm.cpp",
      "native/cpu/output_mlp.cpp",
      "native/cpu/packed_weights.cpp",
      "native/cpu/recurrence.cpp",
      "native/cpu/thread_pool.cpp",
      "native/cpu/workspace.cpp",
      "native/train/adam.cpp",
      "native/train/backprop.cpp",
      "native/train/head_pass.cpp",
      "native/train/net.cpp",
      "native/train/sample_pass.cpp",
      "native/train/rocket.cpp",
      "native/train/train_batch.cpp",
      "native/train/trainer.cpp"
    ],
    "dien_cuda_sources": [
      "native/cuda/attention.cu",
      "native/cuda/cuda_backend.cu",
      "native/cuda/device_probe.cu",
      "native/cuda/device_weights.cu",
      "native/cuda/embed.cu",
      "native/cuda/gemm.cu",
      "native/cuda/output_mlp.cu",
      "native/cuda/recurrence.cu"
    ],
    "dien_no_cuda_sources": [
      "native/cuda/device_probe_none.cpp"
    ],
    "dien_isa_check_sources": [
      "native/common/isa_check.cpp",
      "native/common/isa_self.cpp"
    ],
    "dien_isa_levels_sources": [
      "native/common/isa_levels.cpp"
    ],
    "dien_isa_run_sources": [
      "native/common/isa_run.cpp"
    ],
    "dien_probe_sources": [
      "native/napi/cpu_probe.cpp"
    ],
    "dien_entry_sources": [
      "native/napi/module_entry.cpp"
    ],
    "dien_addon_sources": [
      "native/napi/addon.cpp",
      "native/napi/async_job.cpp",
      "native/napi/errors.cpp",
      "native/napi/model_wrap.cpp",
      "native/napi/train_wrap.cpp",
      "native/napi/typed_arrays.cpp",
      "native/napi/vocab_wrap.cpp"
    ]
  }
}
