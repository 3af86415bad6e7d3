#include "safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>

#include "../common/errors.h"
#include "quantize.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this reader copies it as is");

namespace dien {

namespace {

struct Entry {
  std::string name;
  uint64_t begin = 0, end = 0;
  StorageType dtype = StorageType::F32;
  int64_t scale = -1;  // I8: position of its "NAME.scale" entry in Parsed::scales
};

constexpr const char* kScaleSuffix = ".scale";

size_t bytesPer(StorageType t) { return t == StorageType::F32 ? 4 : t == StorageType::F16 ? 2 : 1; }

// The model's tensors followed by the optimiser state of a checkpoint (safetensors.h).
std::vector<TensorSpec> withOptimizerState(const std::vector<TensorSpec>& model) {
  std::vector<TensorSpec> all = model;
  for (const TensorSpec& s : model) {
    if (!isTrainableTensor(s.kind)) continue;
    for (const char* part : {"optimizer.m.", "optimizer.v."}) {
      TensorSpec o = s;
      o.name = part + s.name;
      o.nonNegative = part[10] == 'v';
      all.push_back(o);
    }
  }
  return all;
}

// Position in `model` of its k-th trainable tensor.
size_t trainableIndex(const std::vector<TensorSpec>& model, size_t k) {
  for (size_t i = 0; i < model.size(); ++i)
    if (isTrainableTensor(model[i].kind) && k-- == 0) return i;
  throw std::logic_error("trainableIndex: out of range");
}

std::string configSummary(const Config& c) {
  return cat("model ", modelName(c.model), ", itemVocab ", c.itemVocab, ", catVocab ", c.catVocab, ", userVocab ",
             c.userVocab, ", dItem ", c.dItem, ", dCat ", c.dCat, ", dUser ", c.dUser, ", hidden ", c.hidden);
}

const Json& metadataString(const Json& meta, const char* key) {
  const Json* v = meta.find(key);
  if (!v) throw FormatError(cat("weights: __metadata__ has no \"", key, "\""));
  if (!v->isString()) throw FormatError(cat("weights: __metadata__.", key, " must be a string"));
  return *v;
}

}  // namespace

namespace {

// A header checked against the file: every tensor present, of the right shape, its
// bytes inside the data section, no gaps or overlaps. Nothing allocated for values yet.
struct Parsed {
  Config config;
  std::string vocab, trainer;
  std::vector<TensorSpec> modelSpecs, specs;  // specs: modelSpecs, then a checkpoint's state
  std::vector<Entry> entries;                 // in specs order
  std::vector<Entry> scales;                  // of the I8 entries (Entry::scale)
  const uint8_t* data = nullptr;              // the data section
  uint64_t dataOffset = 0;                    // of the data section in the file
};

Parsed parseHeader(const uint8_t* bytes, size_t size) {
  if (size < 8) throw FormatError(cat("weights: file is ", size, " bytes, too short for the 8-byte header length"));
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[i];
  if (headerLen > size - 8)
    throw FormatError(cat("weights: header length ", headerLen, " runs past the end of the file (", size, " bytes)"));
  if (headerLen > kMaxHeader)
    throw FormatError(
        cat("weights: header length ", headerLen, " is over the ", kMaxHeader, " bytes a reader accepts"));
  const std::string headerText(reinterpret_cast<const char*>(bytes + 8), headerLen);
  Json header;
  try {
    header = Json::parse(headerText, "weights header");
  } catch (const JsonError& e) {
    throw FormatError(cat("weights: ", e.what()));
  }
  if (!header.isObject()) throw FormatError("weights: header is not a JSON object");

  const Json* meta = header.find("__metadata__");
  if (!meta || !meta->isObject()) throw FormatError("weights: header has no __metadata__ object");
  if (metadataString(*meta, "format").asString() != "dien")
    throw FormatError(
        cat("weights: __metadata__.format is \"", metadataString(*meta, "format").asString(), "\", expected \"dien\""));
  if (metadataString(*meta, "version").asString() != "1")
    throw FormatError(cat("weights: __metadata__.version is \"", metadataString(*meta, "version").asString(),
                          "\", this engine reads version \"1\""));
  Config config;
  try {
    config = Config::fromJsonText(metadataString(*meta, "config").asString());
  } catch (const ConfigError& e) {  // the config's own rules: DIEN_BAD_CONFIG, placed in the file
    throw ConfigError(cat("weights: __metadata__.", e.what()));
  }

  const uint64_t dataSize = size - 8 - headerLen;
  const uint8_t* data = bytes + 8 + headerLen;

  // Tensor records: structure first, then membership, shape, offsets, all checked
  // against the file's size before a byte of tensor memory is allocated.
  std::string vocab;
  if (const Json* v = meta->find("vocab")) {
    if (!v->isString())
      throw FormatError("weights: __metadata__.vocab must be a string (JSON text of the vocabularies)");
    vocab = v->asString();
  }
  const std::vector<TensorSpec> modelSpecs = tensorSpecs(config);
  std::string trainer;
  if (const Json* t = meta->find("trainer")) {
    if (!t->isString()) throw FormatError("weights: __metadata__.trainer must be a string");
    trainer = t->asString();
  }
  const std::vector<TensorSpec> specs = trainer.empty() ? modelSpecs : withOptimizerState(modelSpecs);
  std::map<std::string, const Json*> records;
  for (const auto& m : header.members()) {
    if (m.first == "__metadata__") continue;
    if (!m.second.isObject()) throw FormatError(cat("weights: tensor ", m.first, ": record is not an object"));
    records[m.first] = &m.second;
  }
  // A record's dtype, shape and offsets, checked against what the tensor must be.
  auto entryOf = [&](const std::string& name, const Json& rec, const std::vector<int64_t>& wantShape,
                     StorageType wantType, bool quantizedAllowed) {
    const Json* dtype = rec.find("dtype");
    const Json* shape = rec.find("shape");
    const Json* offsets = rec.find("data_offsets");
    if (!dtype || !dtype->isString()) throw FormatError(cat("weights: tensor ", name, ": missing dtype"));
    Entry e;
    e.name = name;
    const std::string& dt = dtype->asString();
    if (wantType == StorageType::F16) {  // a scale: BF16, two bytes per row
      if (dt != "BF16") throw FormatError(cat("weights: tensor ", name, ": dtype ", dt, ", expected BF16"));
      e.dtype = StorageType::F16;
    } else if (dt == "F32" || (quantizedAllowed && (dt == "F16" || dt == "I8"))) {
      e.dtype = dt == "F32" ? StorageType::F32 : dt == "F16" ? StorageType::F16 : StorageType::I8;
    } else {
      throw FormatError(
          cat("weights: tensor ", name, ": dtype ", dt, ", expected ", quantizedAllowed ? "F32, F16 or I8" : "F32"));
    }
    if (!shape || !shape->isArray()) throw FormatError(cat("weights: tensor ", name, ": missing shape"));
    std::vector<int64_t> dims;
    for (const Json& d : shape->items()) {
      if (!d.isInteger() || d.asNumber() < 0)
        throw FormatError(cat("weights: tensor ", name, ": shape holds a non-integer or negative dimension"));
      dims.push_back(static_cast<int64_t>(d.asNumber()));
    }
    if (dims != wantShape)
      throw FormatError(cat("weights: tensor ", name, " has shape ", shapeText(dims), " but the config (",
                            configSummary(config), ") implies ", shapeText(wantShape)));
    if (!offsets || !offsets->isArray() || offsets->items().size() != 2 || !offsets->items()[0].isInteger() ||
        !offsets->items()[1].isInteger() || offsets->items()[0].asNumber() < 0 || offsets->items()[1].asNumber() < 0)
      throw FormatError(cat("weights: tensor ", name, ": data_offsets must be two non-negative integers"));
    e.begin = static_cast<uint64_t>(offsets->items()[0].asNumber());
    e.end = static_cast<uint64_t>(offsets->items()[1].asNumber());
    if (e.end < e.begin)
      throw FormatError(
          cat("weights: tensor ", name, ": data_offsets [", e.begin, ", ", e.end, ") end before they begin"));
    uint64_t numel = 1;
    for (const int64_t d : wantShape) numel *= static_cast<uint64_t>(d);
    const uint64_t want = bytesPer(e.dtype) * numel;
    if (e.end - e.begin != want)
      throw FormatError(cat("weights: tensor ", name, ": data_offsets [", e.begin, ", ", e.end, ") hold ",
                            e.end - e.begin, " bytes but shape ", shapeText(wantShape), " of ", dt, " needs ", want));
    if (e.end > dataSize)
      throw FormatError(cat("weights: tensor ", name, ": data_offsets [", e.begin, ", ", e.end,
                            ") run past the data section (", dataSize, " bytes): the file is truncated"));
    return e;
  };

  std::map<std::string, size_t> expected;
  for (size_t i = 0; i < specs.size(); ++i) expected[specs[i].name] = i;
  for (const auto& e : expected)
    if (!records.count(e.first)) throw FormatError(cat("weights: missing tensor ", e.first));
  std::vector<Entry> entries, scales;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    // Only a model tensor may be quantised, and not in a checkpoint (which trains).
    const bool mayQuantise = trainer.empty() && i < modelSpecs.size() && quantizable(spec);
    Entry e = entryOf(spec.name, *records[spec.name], spec.shape, StorageType::F32, mayQuantise);
    if (e.dtype == StorageType::I8) {
      const std::string scaleName = spec.name + kScaleSuffix;
      if (!records.count(scaleName))
        throw FormatError(
            cat("weights: tensor ", spec.name, " is I8 but the file has no ", scaleName, " (BF16, one per row)"));
      e.scale = static_cast<int64_t>(scales.size());
      scales.push_back(entryOf(scaleName, *records[scaleName], {spec.shape[0]}, StorageType::F16, false));
      expected[scaleName] = specs.size() + scales.size();
    }
    entries.push_back(e);
  }
  for (const auto& r : records)
    if (!expected.count(r.first))
      throw FormatError(cat("weights: unexpected tensor ", r.first, " (not part of a ", modelName(config.model),
                            " model with this config)"));
  std::vector<Entry> sorted = entries;
  sorted.insert(sorted.end(), scales.begin(), scales.end());
  std::sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  uint64_t cursor = 0;
  for (const Entry& e : sorted) {
    if (e.begin < cursor)
      throw FormatError(cat("weights: tensor ", e.name, ": data_offsets [", e.begin, ", ", e.end,
                            ") overlap the previous tensor, which ends at ", cursor));
    if (e.begin > cursor)
      throw FormatError(
          cat("weights: tensor ", e.name, ": data_offsets begin at ", e.begin, ", leaving a gap after byte ", cursor));
    cursor = e.end;
  }
  if (cursor != dataSize)
    throw FormatError(
        cat("weights: data section is ", dataSize, " bytes but the tensors cover ", cursor, ": trailing bytes"));

  Parsed p;
  p.config = config;
  p.vocab = std::move(vocab);
  p.trainer = std::move(trainer);
  p.modelSpecs = modelSpecs;
  p.specs = specs;
  p.entries = std::move(entries);
  p.scales = std::move(scales);
  p.data = data;
  p.dataOffset = 8 + headerLen;
  return p;
}

// Values a loaded model may hold: finite, and variances not negative.
void checkValues(const TensorSpec& spec, const float* v) {
  const int64_t n = spec.numel();
  for (int64_t k = 0; k < n; ++k)
    if (!std::isfinite(v[k]))
      throw FormatError(cat("weights: tensor ", spec.name, " holds a non-finite value (", v[k], ") at element ", k));
  // A negative variance would make Dice and batch norm divide by sqrt of a negative number.
  if (spec.nonNegative)
    for (int64_t k = 0; k < n; ++k)
      if (v[k] < 0)
        throw FormatError(cat("weights: tensor ", spec.name, " holds a negative variance (", v[k], ") at element ", k));
}

// A quantised table's scales (I8): finite and not negative.
void checkScales(const Parsed& p, const Entry& e) {
  if (e.dtype != StorageType::I8) return;
  const Entry& s = p.scales[static_cast<size_t>(e.scale)];
  const uint64_t rows = (s.end - s.begin) / 2;
  for (uint64_t r = 0; r < rows; ++r) {
    const float v = bf16ToFloat(load16(p.data + s.begin + 2 * r));
    if (!std::isfinite(v) || v < 0)
      throw FormatError(cat("weights: tensor ", s.name, " holds an invalid scale (", v, ") at row ", r));
  }
}

// The values of entry e as float32 into dst (little-endian hosts only, checked at build time).
void decode(const Parsed& p, const Entry& e, const TensorSpec& spec, float* dst) {
  const uint8_t* src = p.data + e.begin;
  if (e.dtype == StorageType::F32) {
    std::memcpy(dst, src, e.end - e.begin);
    return;
  }
  // F16 and I8 are 2-D (quantizable()): decoded a row at a time.
  checkScales(p, e);
  const uint8_t* scales = e.dtype == StorageType::I8 ? p.data + p.scales[static_cast<size_t>(e.scale)].begin : nullptr;
  const int64_t rows = spec.shape[0], cols = spec.shape[1];
  for (int64_t r = 0; r < rows; ++r) decodeRow(e.dtype, src, scales, r, cols, dst + r * cols);
}

// Quantised tables stay quantised in memory (docs/model.md §12): storage per model tensor.
std::vector<StorageType> tableStorage(const Parsed& p) {
  std::vector<StorageType> storage(p.modelSpecs.size(), StorageType::F32);
  for (size_t i = 0; i < p.modelSpecs.size(); ++i)
    if (isTableTensor(p.modelSpecs[i].kind)) storage[i] = p.entries[i].dtype;
  return storage;
}

bool anyQuantised(const std::vector<StorageType>& storage) {
  return std::any_of(storage.begin(), storage.end(), [](StorageType t) { return t != StorageType::F32; });
}

// Points table i of w at its quantised bytes in `base` (the file's data section).
void attachTable(const Parsed& p, size_t i, const uint8_t* base, Weights& w) {
  const Entry& e = p.entries[i];
  const uint8_t* scales = e.dtype == StorageType::I8 ? base + p.scales[static_cast<size_t>(e.scale)].begin : nullptr;
  w.setQuantized(i, base + e.begin, scales);
}

LoadedWeights copyTensors(Parsed& p, CheckpointState* extras) {
  const Config& config = p.config;
  const std::vector<TensorSpec>& specs = p.specs;
  const std::vector<TensorSpec>& modelSpecs = p.modelSpecs;
  const std::vector<Entry>& entries = p.entries;
  const std::string& trainer = p.trainer;
  // The header is consistent with the file: only now allocate what the file holds.
  const std::vector<StorageType> storage = tableStorage(p);
  const bool quantised = anyQuantised(storage);
  auto weights = quantised ? std::make_unique<Weights>(config, storage)
                           : std::make_unique<Weights>(config, Weights::Fill::Uninitialised);
  if (quantised) {
    // Each quantised table keeps a copy of its bytes (and scales); the file's buffer can go.
    std::vector<float> row;
    for (size_t i = 0; i < modelSpecs.size(); ++i) {
      if (storage[i] == StorageType::F32) continue;
      const Entry& e = entries[i];
      checkScales(p, e);
      const Entry* sc = e.dtype == StorageType::I8 ? &p.scales[static_cast<size_t>(e.scale)] : nullptr;
      auto bytes = std::make_shared<std::vector<uint8_t>>(p.data + e.begin, p.data + e.end);
      if (sc) bytes->insert(bytes->end(), p.data + sc->begin, p.data + sc->end);
      weights->keep(bytes);
      weights->setQuantized(i, bytes->data(), sc ? bytes->data() + (e.end - e.begin) : nullptr);
      // Read, not mapped: every value is checked, as for a float32 file, a row at a time.
      const QuantTable& q = weights->quant(i);
      const int64_t rows = modelSpecs[i].shape[0], cols = modelSpecs[i].shape[1];
      row.resize(static_cast<size_t>(cols));
      for (int64_t r = 0; r < rows; ++r) {
        decodeRow(q.type, q.data, q.scales, r, cols, row.data());
        for (int64_t c = 0; c < cols; ++c)
          if (!std::isfinite(row[static_cast<size_t>(c)]))
            throw FormatError(cat("weights: tensor ", modelSpecs[i].name, " holds a non-finite value (",
                                  row[static_cast<size_t>(c)], ") at element ", r * cols + c));
      }
    }
  }
  const bool keepState = extras && !trainer.empty();
  if (keepState) {
    extras->trainer = trainer;
    extras->m = std::make_unique<Weights>(config);
    extras->v = std::make_unique<Weights>(config);
  }
  std::vector<float> skipped;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const Entry& e = entries[i];
    if (i < modelSpecs.size() && storage[i] != StorageType::F32) continue;  // done above
    // Optimiser state follows the model's tensors: m then v for each trainable one.
    float* dst = nullptr;
    if (i < modelSpecs.size()) {
      dst = weights->at(i);
    } else if (keepState) {
      const size_t k = (i - modelSpecs.size()) / 2;
      const size_t model = trainableIndex(modelSpecs, k);
      dst = ((i - modelSpecs.size()) % 2 == 0 ? extras->m : extras->v)->at(model);
    } else {
      skipped.resize(static_cast<size_t>(spec.numel()));
      dst = skipped.data();
    }
    decode(p, e, spec, dst);
    checkValues(spec, dst);
  }
  return LoadedWeights{config, std::move(weights), std::move(p.vocab)};
}

}  // namespace

LoadedWeights readSafetensors(const uint8_t* bytes, size_t size, CheckpointState* extras) {
  Parsed p = parseHeader(bytes, size);
  return copyTensors(p, extras);
}

LoadedWeights mapSafetensors(std::shared_ptr<MappedFile> file) {
  Parsed p = parseHeader(file->data(), file->size());
  const std::vector<StorageType> storage = tableStorage(p);
  if (p.trainer.empty() && anyQuantised(storage)) {
    // A quantised file: its tables stay in the mapping, quantised; the other tensors
    // (small) are decoded into memory of their own and checked.
    auto weights = std::make_unique<Weights>(p.config, storage);
    weights->keep(file);
    weights->setMapped();
    for (size_t i = 0; i < p.modelSpecs.size(); ++i) {
      if (storage[i] != StorageType::F32) {
        attachTable(p, i, p.data, *weights);
        continue;
      }
      decode(p, p.entries[i], p.modelSpecs[i], weights->at(i));
      checkValues(p.modelSpecs[i], weights->at(i));  // copied into memory, so checked
    }
    return LoadedWeights{p.config, std::move(weights), std::move(p.vocab)};
  }
  // A float32 file can live in the mapping when it holds exactly the model's tensors, in
  // their canonical order (as this engine writes them), with float-aligned data.
  bool inPlace = p.trainer.empty() && p.dataOffset % alignof(float) == 0;
  uint64_t at = 0;
  for (size_t i = 0; inPlace && i < p.entries.size(); ++i) {
    inPlace = p.entries[i].begin == at && p.entries[i].dtype == StorageType::F32;
    at = p.entries[i].end;
  }
  if (!inPlace) return copyTensors(p, nullptr);
  float* base = reinterpret_cast<float*>(file->data() + p.dataOffset);
  auto weights = std::make_unique<Weights>(p.config, base, file);
  if (!file->writable()) weights->setReadOnly();
  // Every tensor but the tables is checked now; the tables are read where they are used
  // (a 10 GB table is not read to load the model), so their values are not (§12).
  for (size_t i = 0; i < p.modelSpecs.size(); ++i)
    if (!isTableTensor(p.modelSpecs[i].kind)) checkValues(p.modelSpecs[i], weights->at(i));
  return LoadedWeights{p.config, std::move(weights), std::move(p.vocab)};
}

std::vector<uint8_t> writeSafetensors(const Config& c, const Weights& w, const CheckpointView* extras,
                                      const std::string& vocab, StorageType dtype) {
  Json header = Json::object();
  Json meta = Json::object();
  meta.set("format", Json::string("dien"));
  meta.set("version", Json::string("1"));
  meta.set("config", Json::string(c.toJson().dump()));
  const bool checkpoint = extras && !extras->trainer.empty();
  if (checkpoint) meta.set("trainer", Json::string(extras->trainer));
  if (checkpoint && dtype != StorageType::F32) throw InputError("dtype: a checkpoint is written in float32");
  if (dtype != StorageType::F32) meta.set("quantization", Json::string(quantizationName(dtype)));
  if (!vocab.empty()) meta.set("vocab", Json::string(vocab));
  header.set("__metadata__", meta);
  const std::vector<TensorSpec> specs = checkpoint ? withOptimizerState(w.specs()) : w.specs();
  // One blob per record, in writing order: a tensor, then (I8) its scales.
  struct Blob {
    std::string name, dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;  // encoded (F16, I8, BF16 scales) ...
    const float* f32 = nullptr;  // ... or F32 written straight from the weights
  };
  std::vector<Blob> blobs;
  std::vector<float> decoded;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& s = specs[i];
    const bool model = i < w.specs().size();
    const StorageType t = model && quantizable(s) ? dtype : StorageType::F32;
    const QuantTable held = model ? w.quant(i) : QuantTable{};
    const size_t n = static_cast<size_t>(s.numel());
    if (held.type != StorageType::F32 && held.type == t) {  // a quantised table, written as it is held
      const size_t bytes = held.type == StorageType::F16 ? 2 * n : n;
      blobs.push_back(Blob{s.name, held.type == StorageType::F16 ? "F16" : "I8", s.shape,
                           std::vector<uint8_t>(held.data, held.data + bytes), nullptr});
      if (held.type == StorageType::I8)
        blobs.push_back(Blob{s.name + kScaleSuffix,
                             "BF16",
                             {s.shape[0]},
                             std::vector<uint8_t>(held.scales, held.scales + 2 * s.shape[0]),
                             nullptr});
      continue;
    }
    const float* src = nullptr;
    if (model) {
      src = w.floats(i, decoded);  // decoded when the table is held quantised
    } else {
      const size_t k = (i - w.specs().size()) / 2;
      src = ((i - w.specs().size()) % 2 == 0 ? extras->m : extras->v)->at(trainableIndex(w.specs(), k));
    }
    Blob b{s.name, "F32", s.shape, {}, nullptr};
    if (t == StorageType::F32) {
      if (held.type == StorageType::F32) {
        b.f32 = src;  // straight from the weights
      } else {
        b.bytes.resize(4 * n);  // `decoded` is reused by the next table
        std::memcpy(b.bytes.data(), src, 4 * n);
      }
      blobs.push_back(std::move(b));
      continue;
    }
    // A value the dtype cannot hold is an error before anything is written, not a file
    // that would not load (inf) or a silently wrong one (NaN clamped to a number).
    for (size_t k = 0; k < n; ++k)
      if (!std::isfinite(src[k]) || (t == StorageType::F16 && std::fabs(src[k]) > 65504.0f))
        throw InputError(cat("dtype ", quantizationName(t), ": tensor ", s.name, " holds ", src[k], " at element ", k,
                             t == StorageType::F16 ? ", beyond fp16's range (65504): keep this model in float32 or int8"
                                                   : ", not a finite number: it cannot be quantised"));
    if (t == StorageType::F16) {
      b.dtype = "F16";
      b.bytes.resize(2 * n);
      for (size_t k = 0; k < n; ++k) {
        const uint16_t h = floatToHalf(src[k]);
        std::memcpy(b.bytes.data() + 2 * k, &h, 2);
      }
      blobs.push_back(std::move(b));
      continue;
    }
    const int64_t rows = s.shape[0], cols = s.shape[1];
    std::vector<uint16_t> scales(static_cast<size_t>(rows));
    b.dtype = "I8";
    b.bytes.resize(n);
    quantizeRowsI8(src, rows, cols, reinterpret_cast<int8_t*>(b.bytes.data()), scales.data());
    Blob sc{s.name + kScaleSuffix, "BF16", {rows}, std::vector<uint8_t>(2 * scales.size()), nullptr};
    if (!scales.empty()) std::memcpy(sc.bytes.data(), scales.data(), sc.bytes.size());
    blobs.push_back(std::move(b));
    blobs.push_back(std::move(sc));
  }
  auto sizeOf = [](const Blob& b) {
    if (!b.f32) return static_cast<uint64_t>(b.bytes.size());
    uint64_t n = 4;
    for (const int64_t d : b.shape) n *= static_cast<uint64_t>(d);
    return n;
  };
  uint64_t offset = 0;
  for (const Blob& b : blobs) {
    Json rec = Json::object();
    rec.set("dtype", Json::string(b.dtype));
    Json shape = Json::array();
    for (const int64_t d : b.shape) shape.push(Json::number(static_cast<double>(d)));
    rec.set("shape", shape);
    Json offs = Json::array();
    const uint64_t bytes = sizeOf(b);
    offs.push(Json::number(static_cast<double>(offset)));
    offs.push(Json::number(static_cast<double>(offset + bytes)));
    rec.set("data_offsets", offs);
    header.set(b.name, rec);
    offset += bytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';  // keep the data section 8-byte aligned
  // Never write a file that no reader (this one included) would load.
  if (text.size() > kMaxHeader)
    throw InputError(cat("vocab: the vocabularies take ", vocab.size(), " bytes of JSON, which would make a ",
                         text.size(), "-byte header, over the ", kMaxHeader,
                         " bytes a reader accepts: keep them in a file of their own (save(path) does so)"));
  std::vector<uint8_t> out(8 + text.size() + offset);
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(len >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* dst = out.data() + 8 + text.size();
  for (const Blob& b : blobs) {
    const size_t bytes = static_cast<size_t>(sizeOf(b));
    if (bytes > 0) std::memcpy(dst, b.f32 ? static_cast<const void*>(b.f32) : b.bytes.data(), bytes);
    dst += bytes;
  }
  return out;
}

}  // namespace dien
