// Quantised storage of a weight file (docs/model.md §12, "Quantised files"): the 2-D
// trainable tensors (embedding and wide tables, dense weight matrices) stored as F16, or
// as I8 with one BF16 scale per row (per id for a table, per output channel for a layer
// stored [out, in]). Everything else stays F32. Values are dequantised to float32 when
// the file is loaded; compute is float32 throughout.
#pragma once

#include <cstdint>
#include <string>

#include "tensors.h"

namespace dien {

enum class StorageType { F32, F16, I8 };

// "F32" / "float32", "F16" / "fp16", "I8" / "int8" (the metadata's names); throws InputError.
StorageType storageTypeFromName(const std::string& name);
const char* quantizationName(StorageType t);  // "fp16", "int8" ("" for F32)

// Whether a file of type t stores this tensor quantised.
bool quantizable(const TensorSpec& s);

// IEEE 754 binary16 and bfloat16, round to nearest even; portable (no F16C needed).
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
uint16_t floatToBf16(float f);
float bf16ToFloat(uint16_t b);

// Row r of x[rows, cols]: scale_r = max_c |x[r, c]| / 127 rounded up to bfloat16 (0 for a
// row of zeros), q[r, c] = round(x[r, c] / scale_r), within [-127, 127]. The error of a
// value is at most scale_r / 2.
void quantizeRowsI8(const float* x, int64_t rows, int64_t cols, int8_t* q, uint16_t* scales);
void dequantizeRowsI8(const int8_t* q, const uint16_t* scales, int64_t rows, int64_t cols, float* x);

}  // namespace dien
