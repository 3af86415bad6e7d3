#include "vocab_wrap.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "async_job.h"
#include "errors.h"
#include "tagged_handle.h"
#include "typed_arrays.h"

namespace dien {

// Bytes this addon allocated and lent to JS as a Buffer (vocabText): JS reads a vocabulary
// file straight into them, and a parse of that Buffer reads them off the JS thread without
// a copy (the copy of a 190 MB file stalled the event loop for 150 ms). The job holds a
// share, so the bytes outlive anything JS does to the Buffer meanwhile.
struct OwnedText {
  explicit OwnedText(size_t n) : bytes(new uint8_t[n > 0 ? n : 1]), size(n) {}
  std::unique_ptr<uint8_t[]> bytes;
  size_t size;
};

namespace {

constexpr napi_type_tag kVocabTag = {0x52b7e1c94d3a6f08ull, 0xe83f05a7c16b9d24ull};

constexpr napi_type_tag kTextTag = {0x1f6a93c2e47d5b08ull, 0x8c2d71e0b5a4f396ull};

// The text to parse: a Buffer from vocabText (shared, no copy) or anything else, copied
// on the JS thread (the job owns what it reads).
struct Text {
  std::shared_ptr<OwnedText> owned;
  std::vector<uint8_t> copy;
  const uint8_t* data() const { return owned ? owned->bytes.get() : copy.data(); }
  size_t size() const { return owned ? owned->size : copy.size(); }
};

Text readText(const Napi::Value& v) {
  Text t;
  bool ours = false;
  if (v.IsBuffer() && napi_check_object_type_tag(v.Env(), v, &kTextTag, &ours) == napi_ok && ours) {
    auto& lent = addonData(v.Env()).lentTexts;
    const auto buf = v.As<Napi::Buffer<uint8_t>>();
    const auto it = lent.find(buf.Data());
    if (it != lent.end()) t.owned = it->second.lock();
    if (t.owned && buf.Length() == t.owned->size) return t;
    t.owned.reset();
  }
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    t.copy.assign(s.begin(), s.end());
    return t;
  }
  if (v.IsTypedArray()) {
    t.copy = copyUint8Array(v, "text");
    return t;
  }
  throw TypeMismatch("text: expected a Uint8Array or a string but got " + describeJsValue(v));
}

class ParseVocabJob : public AsyncJob {
 public:
  explicit ParseVocabJob(Text text) : text_(std::move(text)) {}

 protected:
  void run() override {
    set_ = std::make_shared<const VocabSet>(VocabSet::parse(text_.data(), text_.size()));
    text_ = Text();  // let the text go before the JS thread gets the result
  }
  Napi::Value result(Napi::Env env) override { return VocabWrap::Wrap(env, set_); }

 private:
  Text text_;
  std::shared_ptr<const VocabSet> set_;
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
  const double t = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(t == 0 || t == 1 || t == 2))
    throw InputError(cat("table: expected 0 (items), 1 (cats) or 2 (users) but got ",
                         v.IsNumber() ? v.ToString().Utf8Value() : describeJsValue(v)));
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
    // Ids are gathered first: reading an element may run JS (a getter), which must not
    // see a half-filled result.
    std::vector<int32_t> ids(n);
    std::u16string units;
    std::string key;
    for (uint32_t i = 0; i < n; i++) {
      const Napi::Value v = tokens.Get(i);
      if (!v.IsString()) throw TypeMismatch(cat("tokens[", i, "]: expected a string but got ", describeJsValue(v)));
      jsStringWtf8(env, v, units, key);
      ids[i] = t.find(key);
    }
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
    Text text = readText(info.Length() > 0 ? info[0] : env.Undefined());
    return AsyncJob::queue(env, std::make_unique<ParseVocabJob>(std::move(text)), "dien.parseVocab");
  });
}

Napi::Value ParseVocabSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Text text = readText(info.Length() > 0 ? info[0] : env.Undefined());
    return VocabWrap::Wrap(env, std::make_shared<const VocabSet>(VocabSet::parse(text.data(), text.size())));
  });
}

// vocabText(n) -> a Buffer of n bytes this addon owns (contents undefined), for parseVocab to
// read without a copy; undefined where the runtime does not allow external buffers.
Napi::Value VocabText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(n >= 0 && n <= 4294967295.0 && std::floor(n) == n))
      throw InputError(cat("n: expected an integer in [0, 2^32) but got ",
                           info.Length() > 0 && info[0].IsNumber()
                               ? info[0].ToString().Utf8Value()
                               : describeJsValue(info.Length() > 0 ? info[0] : env.Undefined())));
    auto owned = std::make_shared<OwnedText>(static_cast<size_t>(n));
    AddonData& data = addonData(env);
    // Entries of Buffers already collected have expired: drop them (the finalizer below may
    // run while the environment is torn down, so it does not touch the registry).
    for (auto it = data.lentTexts.begin(); it != data.lentTexts.end();)
      it = it->second.expired() ? data.lentTexts.erase(it) : std::next(it);
    auto* share = new std::shared_ptr<OwnedText>(owned);
    napi_value buf;
    const napi_status st = napi_create_external_buffer(
        env, owned->size, owned->bytes.get(),
        [](napi_env, void*, void* hint) { delete static_cast<std::shared_ptr<OwnedText>*>(hint); }, share, &buf);
    if (st != napi_ok) {
      delete share;
      return env.Undefined();  // no external buffers here (a sandboxed runtime): the caller copies
    }
    data.lentTexts[owned->bytes.get()] = owned;
    if (napi_type_tag_object(env, buf, &kTextTag) != napi_ok) throw Napi::Error::New(env);
    return Napi::Value(env, buf);
  });
}

}  // namespace dien
