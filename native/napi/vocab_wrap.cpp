#include "vocab_wrap.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "../common/errors.h"
#include "async_job.h"
#include "errors.h"
#include "tagged_handle.h"
#include "typed_arrays.h"

namespace dien {

// Bytes this addon allocated and lent to JS as a Uint8Array (vocabText): JS reads a
// vocabulary file straight into them, and a parse of that array takes them over without
// a copy (the copy of a 190 MB file stalled the event loop for 150 ms): the parse detaches
// the ArrayBuffer, so JS can no longer see or change the bytes being parsed, and the job
// holds a share of them. calloc: large blocks come zeroed from the OS page by page, so
// nothing of the heap is shown to JS and nothing is touched on the JS thread.
struct OwnedText {
  explicit OwnedText(size_t n) : bytes(static_cast<uint8_t*>(std::calloc(n > 0 ? n : 1, 1))), size(n) {
    if (!bytes) throw std::bad_alloc();
  }
  ~OwnedText() { std::free(bytes); }
  OwnedText(const OwnedText&) = delete;
  OwnedText& operator=(const OwnedText&) = delete;
  uint8_t* bytes;
  size_t size;
};

namespace {

constexpr napi_type_tag kVocabTag = {0x52b7e1c94d3a6f08ull, 0xe83f05a7c16b9d24ull};
// Marks the ArrayBuffers vocabText made (the registry then says whose bytes they are).
constexpr napi_type_tag kTextTag = {0x1f6a93c2e47d5b08ull, 0x8c2d71e0b5a4f396ull};

// The text to parse: a Uint8Array from vocabText (taken over, no copy) or anything else,
// copied on the JS thread (the job owns what it reads).
struct Text {
  std::shared_ptr<OwnedText> owned;
  std::vector<uint8_t> copy;
  bool wtf8 = false;  // a JS string's text (VocabSet::parse)
  const uint8_t* data() const { return owned ? owned->bytes : copy.data(); }
  size_t size() const { return owned ? owned->size : copy.size(); }
};

// A JS string as WTF-8 (data/vocab_index.h), exactly: lone surrogates kept, not replaced.
void jsStringWtf8(napi_env env, napi_value v, std::u16string& units, std::string& out) {
  size_t n = 0;
  units.resize(units.capacity() > 64 ? units.capacity() : 64);
  if (napi_get_value_string_utf16(env, v, units.data(), units.size(), &n) != napi_ok) throw Napi::Error::New(env);
  if (n + 1 >= units.size()) {  // it may have been cut: ask for its length, then read all of it
    if (napi_get_value_string_utf16(env, v, nullptr, 0, &n) != napi_ok) throw Napi::Error::New(env);
    units.resize(n + 1);
    if (napi_get_value_string_utf16(env, v, units.data(), units.size(), &n) != napi_ok) throw Napi::Error::New(env);
  }
  utf16ToWtf8(units.data(), n, out);
}

// The bytes a Uint8Array from vocabText views, taken over (its ArrayBuffer detached); null
// for any other value, or a view of part of one.
std::shared_ptr<OwnedText> takeLent(Napi::Env env, const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return nullptr;
  napi_value ab = nullptr;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  bool ours = false;
  if (napi_get_typedarray_info(env, v, nullptr, &length, &data, &ab, &offset) != napi_ok ||
      napi_check_object_type_tag(env, ab, &kTextTag, &ours) != napi_ok || !ours || offset != 0)
    return nullptr;
  auto& lent = addonData(env).lentTexts;
  const auto it = lent.find(static_cast<const uint8_t*>(data));
  std::shared_ptr<OwnedText> owned = it == lent.end() ? nullptr : it->second.lock();
  if (!owned || length != owned->size) return nullptr;
  lent.erase(it);
  if (napi_detach_arraybuffer(env, ab) != napi_ok) throw Napi::Error::New(env);
  return owned;
}

Text readText(Napi::Env env, const Napi::Value& v) {
  Text t;
  if ((t.owned = takeLent(env, v))) return t;
  if (v.IsString()) {
    std::u16string units;
    std::string wtf8;
    jsStringWtf8(env, v, units, wtf8);
    t.copy.assign(wtf8.begin(), wtf8.end());
    t.wtf8 = true;
    return t;
  }
  if (v.IsTypedArray()) {
    t.copy = copyUint8Array(v, "text");
    return t;
  }
  throw TypeMismatch("text: expected a Uint8Array or a string but got " + describeJsValue(v));
}

// Vocabularies parsed in this process (by any thread's environment), by the sha256 of their
// text: a model loaded again (in a worker thread, by a service's reload, a quantised copy)
// shares one index instead of parsing and holding another. An entry lives as long as some
// model holds its index.
class VocabCache {
 public:
  std::shared_ptr<const VocabSet> find(const std::string& key) {
    if (key.empty()) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second.lock();
  }
  // Keeps set under key and returns it, or the index kept meanwhile by another thread.
  std::shared_ptr<const VocabSet> keep(const std::string& key, std::shared_ptr<const VocabSet> set) {
    if (key.empty()) return set;
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = map_[key];
    if (auto earlier = slot.lock()) return earlier;
    slot = set;
    if (map_.size() >= 2 * swept_ + 16) {  // expired entries go when the map has doubled
      for (auto it = map_.begin(); it != map_.end();) it = it->second.expired() ? map_.erase(it) : std::next(it);
      swept_ = map_.size();
    }
    return set;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<const VocabSet>> map_;
  size_t swept_ = 0;
};

// Never destroyed: a worker's job may still finish while the process exits.
VocabCache& vocabCache() {
  static VocabCache* cache = new VocabCache();
  return *cache;
}

// Argument i: the text's sha256 (64 lowercase hex digits, checked by the caller against the
// text), under which the index is shared; "" when absent.
std::string cacheKey(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return "";
  if (!info[i].IsString()) throw TypeMismatch("sha256: expected a string but got " + describeJsValue(info[i]));
  std::string key = info[i].As<Napi::String>().Utf8Value();
  const bool hex = key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) throw InputError("sha256: expected 64 lowercase hex digits but got \"" + key.substr(0, 80) + "\"");
  return key;
}

class ParseVocabJob : public AsyncJob {
 public:
  ParseVocabJob(Text text, std::string key) : text_(std::move(text)), key_(std::move(key)) {}

 protected:
  void run() override {
    set_ = vocabCache().keep(key_,
                             std::make_shared<const VocabSet>(VocabSet::parse(text_.data(), text_.size(), text_.wtf8)));
    text_ = Text();  // let the text go before the JS thread gets the result
  }
  Napi::Value result(Napi::Env env) override { return VocabWrap::Wrap(env, set_); }

 private:
  Text text_;
  std::string key_;
  std::shared_ptr<const VocabSet> set_;
};

Napi::String jsString(Napi::Env env, std::string_view s, std::u16string& scratch) {
  bool ascii = true;
  for (const char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    napi_value out;
    if (napi_create_string_latin1(env, s.data(), s.size(), &out) != napi_ok) throw Napi::Error::New(env);
    return Napi::String(env, out);
  }
  wtf8ToUtf16(s, scratch);
  return Napi::String::New(env, scratch);
}

}  // namespace

Napi::Function VocabWrap::Define(Napi::Env env) {
  Napi::Function cls =
      DefineClass(env, "NativeVocab",
                  {InstanceMethod("has", &VocabWrap::Has), InstanceMethod("size", &VocabWrap::Size),
                   InstanceMethod("id", &VocabWrap::Id), InstanceMethod("token", &VocabWrap::Token),
                   InstanceMethod("encode", &VocabWrap::Encode), InstanceMethod("tokens", &VocabWrap::Tokens),
                   InstanceMethod("json", &VocabWrap::Json), InstanceAccessor("bytes", &VocabWrap::Bytes, nullptr)});
  addonData(env).vocabClass = Napi::Persistent(cls);
  return cls;
}

Napi::Object VocabWrap::Wrap(Napi::Env env, std::shared_ptr<const VocabSet> set) {
  return newTaggedHandle(env, std::move(set), kVocabTag, addonData(env).vocabClass);
}

VocabWrap::VocabWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VocabWrap>(info) {
  set_ = takeTaggedHandle<const VocabSet>(info, kVocabTag, "NativeVocab is made by parseVocab(), not with new");
  // Hundreds of MB may hang off this small object: tell the collector, so that a dropped
  // one is collected as soon as its size warrants.
  accounted_ = static_cast<int64_t>(set_->bytes());
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), accounted_);
}

VocabWrap::~VocabWrap() {
  if (accounted_ != 0) napi_adjust_external_memory(Env(), -accounted_, nullptr);
}

// Argument 0: a table, 0 (items), 1 (cats) or 2 (users), which this set must have.
const TokenTable& VocabWrap::table(const Napi::CallbackInfo& info) const {
  const Napi::Value v = info.Length() > 0 ? info[0] : info.Env().Undefined();
  if (!v.IsNumber())
    throw TypeMismatch("table: expected 0 (items), 1 (cats) or 2 (users) but got " + describeJsValue(v));
  const double t = v.As<Napi::Number>().DoubleValue();
  if (!(t == 0 || t == 1 || t == 2))
    throw InputError(cat("table: expected 0 (items), 1 (cats) or 2 (users) but got ", v.ToString().Utf8Value()));
  if (t == VocabSet::kUsers && !set_->hasUsers) throw InputError("table: these vocabularies have no users");
  return set_->tables[static_cast<int>(t)];
}

// has(table) -> whether this set has that table (users is optional)
Napi::Value VocabWrap::Has(const Napi::CallbackInfo& info) {
  const Napi::Value v = info.Length() > 0 ? info[0] : info.Env().Undefined();
  const double t = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  return Napi::Boolean::New(info.Env(), t == 0 || t == 1 || (t == 2 && set_->hasUsers));
}

Napi::Value VocabWrap::Size(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(table(info).size()));
  });
}

// id(table, token: string) -> number (0: unknown)
Napi::Value VocabWrap::Id(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const TokenTable& t = table(info);
    if (info.Length() < 2 || !info[1].IsString())
      throw TypeMismatch("token: expected a string but got " +
                         describeJsValue(info.Length() < 2 ? env.Undefined() : info[1]));
    std::u16string units;
    std::string key;
    jsStringWtf8(env, info[1], units, key);
    return Napi::Number::New(env, t.find(key));
  });
}

// token(table, id) -> string | undefined (undefined for 0 and ids outside the table)
Napi::Value VocabWrap::Token(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const TokenTable& t = table(info);
    const double id = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(id >= 1 && id < static_cast<double>(t.size()) && std::floor(id) == id)) return env.Undefined();
    std::u16string scratch;
    return jsString(env, t.token(static_cast<size_t>(id)), scratch);
  });
}

// encode(table, tokens: string[]) -> Int32Array (unknown strings: 0)
Napi::Value VocabWrap::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const TokenTable& t = table(info);
    if (info.Length() < 2 || !info[1].IsArray()) throw TypeMismatch("tokens: expected an array of strings");
    Napi::Array tokens = info[1].As<Napi::Array>();
    const uint32_t n = tokens.Length();
    // Every element is read and checked first (a huge array of holes fails at its first,
    // having allocated little), its text kept, then all are looked up together (findMany)
    // and copied out: reading an element may run JS (a getter), which must not see a
    // half-filled result.
    std::string texts;
    std::vector<size_t> ends;
    ends.reserve(std::min<uint32_t>(n, 1u << 16));
    std::u16string units;
    std::string key;
    for (uint32_t i = 0; i < n; i++) {
      const Napi::Value v = tokens.Get(i);
      if (!v.IsString()) throw TypeMismatch(cat("tokens[", i, "]: expected a string but got ", describeJsValue(v)));
      jsStringWtf8(env, v, units, key);
      texts += key;
      ends.push_back(texts.size());
    }
    std::vector<std::string_view> keys(n);
    for (uint32_t i = 0; i < n; i++) {
      const size_t from = i == 0 ? 0 : ends[i - 1];
      keys[i] = std::string_view(texts).substr(from, ends[i] - from);
    }
    std::vector<int32_t> ids(n);
    t.findMany(keys.data(), n, ids.data());
    Napi::Int32Array out = Napi::Int32Array::New(env, n);
    for (uint32_t i = 0; i < n; i++) out[i] = ids[i];
    return out;
  });
}

// tokens(table) -> string[] (all of them, id order)
Napi::Value VocabWrap::Tokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const TokenTable& t = table(info);
    Napi::Array out = Napi::Array::New(env, t.size());
    std::u16string scratch;
    // Set() with a Napi::String would convert it to std::string (UTF-8, lone surrogates lost).
    for (size_t i = 0; i < t.size(); i++)
      out.Set(static_cast<uint32_t>(i), static_cast<napi_value>(jsString(env, t.token(i), scratch)));
    return out;
  });
}

// json() -> Buffer: the vocabularies as JSON.stringify writes them
Napi::Value VocabWrap::Json(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const std::string text = set_->toJson();
    return Napi::Buffer<char>::Copy(info.Env(), text.data(), text.size());
  });
}

Napi::Value VocabWrap::Bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(set_->bytes()));
}

Napi::Value ParseVocab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Text text = readText(env, info.Length() > 0 ? info[0] : env.Undefined());
    std::string key = cacheKey(info, 1);
    if (auto shared = vocabCache().find(key)) {
      Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
      done.Resolve(VocabWrap::Wrap(env, std::move(shared)));
      return done.Promise();
    }
    return AsyncJob::queue(env, std::make_unique<ParseVocabJob>(std::move(text), std::move(key)), "dien.parseVocab");
  });
}

Napi::Value ParseVocabSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Text text = readText(env, info.Length() > 0 ? info[0] : env.Undefined());
    const std::string key = cacheKey(info, 1);
    std::shared_ptr<const VocabSet> set = vocabCache().find(key);
    if (!set)
      set = vocabCache().keep(key,
                              std::make_shared<const VocabSet>(VocabSet::parse(text.data(), text.size(), text.wtf8)));
    return VocabWrap::Wrap(env, std::move(set));
  });
}

// vocabText(n) -> a Uint8Array of n zero bytes this addon owns, which parseVocab takes over
// without a copy; undefined where the runtime does not allow external buffers.
Napi::Value VocabText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Value arg = info.Length() > 0 ? info[0] : env.Undefined();
    if (!arg.IsNumber()) throw TypeMismatch("n: expected an integer in [0, 2^32) but got " + describeJsValue(arg));
    const double n = arg.As<Napi::Number>().DoubleValue();
    if (!(n >= 0 && n <= 4294967295.0 && std::floor(n) == n))
      throw InputError(cat("n: expected an integer in [0, 2^32) but got ", arg.ToString().Utf8Value()));
    auto owned = std::make_shared<OwnedText>(static_cast<size_t>(n));
    auto* share = new std::shared_ptr<OwnedText>(owned);
    napi_value ab, view;
    if (napi_create_external_arraybuffer(
            env, owned->bytes, owned->size,
            [](napi_env, void*, void* hint) { delete static_cast<std::shared_ptr<OwnedText>*>(hint); }, share,
            &ab) != napi_ok) {
      delete share;
      return env.Undefined();  // no external buffers here (a sandboxed runtime): the caller copies
    }
    if (napi_type_tag_object(env, ab, &kTextTag) != napi_ok ||
        napi_create_typedarray(env, napi_uint8_array, owned->size, ab, 0, &view) != napi_ok)
      throw Napi::Error::New(env);
    // The registry holds weak shares by address; those of arrays collected unparsed expire.
    // Their entries go when it has doubled since the last sweep (the finalizer may run while
    // the environment is torn down, so it does not touch the registry).
    AddonData& data = addonData(env);
    if (data.lentTexts.size() >= 2 * data.lentSwept + 64) {
      for (auto it = data.lentTexts.begin(); it != data.lentTexts.end();)
        it = it->second.expired() ? data.lentTexts.erase(it) : std::next(it);
      data.lentSwept = data.lentTexts.size();
    }
    data.lentTexts[owned->bytes] = owned;
    return Napi::Value(env, view);
  });
}

}  // namespace dien
