#include "safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>

#include "../common/errors.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this reader copies it as is");

namespace dien {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // 100 MiB of JSON is far beyond any real header

struct Entry {
  std::string name;
  uint64_t begin = 0, end = 0;
};

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
  const uint8_t* data = nullptr;              // the data section
  uint64_t dataOffset = 0;                    // of the data section in the file
};

Parsed parseHeader(const uint8_t* bytes, size_t size) {
  if (size < 8) throw FormatError(cat("weights: file is ", size, " bytes, too short for the 8-byte header length"));
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[i];
  if (headerLen > size - 8)
    throw FormatError(cat("weights: header length ", headerLen, " runs past the end of the file (", size, " bytes)"));
  if (headerLen > kMaxHeader) throw FormatError(cat("weights: header length ", headerLen, " is implausibly large"));
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
  std::map<std::string, size_t> expected;
  for (size_t i = 0; i < specs.size(); ++i) expected[specs[i].name] = i;
  for (const auto& r : records)
    if (!expected.count(r.first))
      throw FormatError(cat("weights: unexpected tensor ", r.first, " (not part of a ", modelName(config.model),
                            " model with this config)"));
  for (const auto& e : expected)
    if (!records.count(e.first)) throw FormatError(cat("weights: missing tensor ", e.first));

  std::vector<Entry> entries;
  for (const auto& spec : specs) {
    const Json& rec = *records[spec.name];
    const Json* dtype = rec.find("dtype");
    const Json* shape = rec.find("shape");
    const Json* offsets = rec.find("data_offsets");
    if (!dtype || !dtype->isString()) throw FormatError(cat("weights: tensor ", spec.name, ": missing dtype"));
    if (dtype->asString() != "F32")
      throw FormatError(cat("weights: tensor ", spec.name, ": dtype ", dtype->asString(), ", expected F32"));
    if (!shape || !shape->isArray()) throw FormatError(cat("weights: tensor ", spec.name, ": missing shape"));
    std::vector<int64_t> dims;
    for (const Json& d : shape->items()) {
      if (!d.isInteger() || d.asNumber() < 0)
        throw FormatError(cat("weights: tensor ", spec.name, ": shape holds a non-integer or negative dimension"));
      dims.push_back(static_cast<int64_t>(d.asNumber()));
    }
    if (dims != spec.shape)
      throw FormatError(cat("weights: tensor ", spec.name, " has shape ", shapeText(dims), " but the config (",
                            configSummary(config), ") implies ", spec.shapeText()));
    if (!offsets || !offsets->isArray() || offsets->items().size() != 2 || !offsets->items()[0].isInteger() ||
        !offsets->items()[1].isInteger() || offsets->items()[0].asNumber() < 0 || offsets->items()[1].asNumber() < 0)
      throw FormatError(cat("weights: tensor ", spec.name, ": data_offsets must be two non-negative integers"));
    Entry e{spec.name, static_cast<uint64_t>(offsets->items()[0].asNumber()),
            static_cast<uint64_t>(offsets->items()[1].asNumber())};
    if (e.end < e.begin)
      throw FormatError(
          cat("weights: tensor ", spec.name, ": data_offsets [", e.begin, ", ", e.end, ") end before they begin"));
    const uint64_t want = 4ull * static_cast<uint64_t>(spec.numel());
    if (e.end - e.begin != want)
      throw FormatError(cat("weights: tensor ", spec.name, ": data_offsets [", e.begin, ", ", e.end, ") hold ",
                            e.end - e.begin, " bytes but shape ", spec.shapeText(), " of F32 needs ", want));
    if (e.end > dataSize)
      throw FormatError(cat("weights: tensor ", spec.name, ": data_offsets [", e.begin, ", ", e.end,
                            ") run past the data section (", dataSize, " bytes): the file is truncated"));
    entries.push_back(e);
  }
  std::vector<Entry> sorted = entries;
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

LoadedWeights copyTensors(Parsed& p, CheckpointState* extras) {
  const Config& config = p.config;
  const std::vector<TensorSpec>& specs = p.specs;
  const std::vector<TensorSpec>& modelSpecs = p.modelSpecs;
  const std::vector<Entry>& entries = p.entries;
  const uint8_t* data = p.data;
  const std::string& trainer = p.trainer;
  // The header is consistent with the file: only now allocate what the file holds.
  auto weights = std::make_unique<Weights>(config, Weights::Fill::Uninitialised);
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
    std::memcpy(dst, data + e.begin, e.end - e.begin);  // little-endian hosts only (checked at build time)
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
  // The weights can live in the mapping when the file holds exactly the model's tensors,
  // in their canonical order (as this engine writes them), with float-aligned data.
  bool inPlace = p.trainer.empty() && p.dataOffset % alignof(float) == 0;
  uint64_t at = 0;
  for (size_t i = 0; inPlace && i < p.entries.size(); ++i) {
    inPlace = p.entries[i].begin == at;
    at = p.entries[i].end;
  }
  if (!inPlace) return copyTensors(p, nullptr);
  float* base = reinterpret_cast<float*>(file->data() + p.dataOffset);
  auto weights = std::make_unique<Weights>(p.config, base, file);
  // Every tensor but the tables is checked now; the tables are read where they are used
  // (a 10 GB table is not read to load the model), so their values are not (§12).
  for (size_t i = 0; i < p.modelSpecs.size(); ++i)
    if (!isTableTensor(p.modelSpecs[i].kind)) checkValues(p.modelSpecs[i], weights->at(i));
  return LoadedWeights{p.config, std::move(weights), std::move(p.vocab)};
}

std::vector<uint8_t> writeSafetensors(const Config& c, const Weights& w, const CheckpointView* extras,
                                      const std::string& vocab) {
  Json header = Json::object();
  Json meta = Json::object();
  meta.set("format", Json::string("dien"));
  meta.set("version", Json::string("1"));
  meta.set("config", Json::string(c.toJson().dump()));
  const bool checkpoint = extras && !extras->trainer.empty();
  if (checkpoint) meta.set("trainer", Json::string(extras->trainer));
  if (!vocab.empty()) meta.set("vocab", Json::string(vocab));
  header.set("__metadata__", meta);
  const std::vector<TensorSpec> specs = checkpoint ? withOptimizerState(w.specs()) : w.specs();
  std::vector<const float*> sources;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i < w.specs().size()) {
      sources.push_back(w.at(i));
    } else {
      const size_t k = (i - w.specs().size()) / 2;
      const size_t model = trainableIndex(w.specs(), k);
      sources.push_back(((i - w.specs().size()) % 2 == 0 ? extras->m : extras->v)->at(model));
    }
  }
  uint64_t offset = 0;
  for (const TensorSpec& s : specs) {
    Json rec = Json::object();
    rec.set("dtype", Json::string("F32"));
    Json shape = Json::array();
    for (const int64_t d : s.shape) shape.push(Json::number(static_cast<double>(d)));
    rec.set("shape", shape);
    Json offs = Json::array();
    const uint64_t bytes = 4ull * static_cast<uint64_t>(s.numel());
    offs.push(Json::number(static_cast<double>(offset)));
    offs.push(Json::number(static_cast<double>(offset + bytes)));
    rec.set("data_offsets", offs);
    header.set(s.name, rec);
    offset += bytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';  // keep the data section 8-byte aligned
  std::vector<uint8_t> out(8 + text.size() + offset);
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(len >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* dst = out.data() + 8 + text.size();
  for (size_t i = 0; i < specs.size(); ++i) {
    const size_t bytes = 4 * static_cast<size_t>(specs[i].numel());
    std::memcpy(dst, sources[i], bytes);
    dst += bytes;
  }
  return out;
}

}  // namespace dien
