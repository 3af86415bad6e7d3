// The JS handle of a native vocabulary index (data/vocab_index.h): NativeVocab, made by
// parseVocab(text) off the JS thread or parseVocabSync(text) on it. lib/data/vocab.ts
// puts a Vocabulary over each of its tables.
#pragma once

#include <napi.h>

#include <memory>

#include "../data/vocab_index.h"

namespace dien {

class VocabWrap : public Napi::ObjectWrap<VocabWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<const VocabSet> set);
  explicit VocabWrap(const Napi::CallbackInfo& info);
  ~VocabWrap() override;

 private:
  const TokenTable& table(const Napi::CallbackInfo& info) const;
  Napi::Value Has(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Id(const Napi::CallbackInfo& info);
  Napi::Value Token(const Napi::CallbackInfo& info);
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Tokens(const Napi::CallbackInfo& info);
  Napi::Value Json(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);

  std::shared_ptr<const VocabSet> set_;
  int64_t accounted_ = 0;  // bytes reported to the garbage collector
};

// parseVocab(text: Uint8Array | string, sha256?) -> Promise<NativeVocab>; parseVocabSync(text,
// sha256?) -> NativeVocab. With the text's sha256, an index already parsed in this process
// from the same text is shared instead of parsed again.
Napi::Value ParseVocab(const Napi::CallbackInfo& info);
Napi::Value ParseVocabSync(const Napi::CallbackInfo& info);
// vocabText(n) -> Uint8Array | undefined: memory a parse takes over without copying it.
Napi::Value VocabText(const Napi::CallbackInfo& info);

}  // namespace dien
