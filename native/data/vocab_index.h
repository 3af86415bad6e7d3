// String-id vocabularies as a native index (docs/model.md §12, "Vocabularies", and §13).
// A loaded model's vocabularies can hold millions of ids: parsed into a JS Map they took
// 26 s of the event loop and about a gigabyte of JS heap for 14 million. Here they are
// parsed from their JSON text off the JS thread into one byte arena per table with an
// open-addressing index, a few hundred MB for the same 14 million.
//
// Tokens are stored as WTF-8: UTF-8, except that a lone UTF-16 surrogate (which a JS
// string may hold, and JSON.stringify writes as a \u escape) is kept as its 3-byte form.
// So every JS string maps to exactly one byte string and back, as a JS Map key would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dien {

// One vocabulary: id i is token i, id 0 the padding / unknown slot ("").
class TokenTable {
 public:
  TokenTable() : ends_{0} {}

  // Ids, padding included.
  size_t size() const { return ends_.size(); }
  // Token `id` (< size()) as WTF-8.
  std::string_view token(size_t id) const;
  // The id of a WTF-8 token; 0 when absent (and for "").
  int32_t find(std::string_view key) const;
  // find() of n keys into out, with the memory each probe needs fetched ahead: a batch of
  // look-ups into a table of millions waits for memory a few times, not n times.
  void findMany(const std::string_view* keys, size_t n, int32_t* out) const;
  // Memory held, for the garbage collector's accounting.
  size_t bytes() const;

  // Building (VocabSet::parse): tokens 1..n in id order, then index().
  void append(std::string_view token);
  std::string& arena() { return text_; }
  void endToken();
  // Builds the index; throws FormatError naming `field` at a repeated or empty token.
  void index(const char* field);

 private:
  // The id of key (not "") whose hash is h, or 0: a walk from its slot to the first empty one.
  int32_t probe(std::string_view key, uint64_t h) const;

  std::string text_;            // tokens 1..n back to back
  std::vector<uint32_t> ends_;  // ends_[i]: where token i ends in text_ (ends_[0] = 0: token 0 is "")
  // Linear probing; a slot holds the token's hash high 32 bits above its id, so that a probe
  // compares text only when the hashes agree. 0: empty (id 0 is never stored).
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

// The vocabularies of one model: {"items": [...], "cats": [...], "users"?: [...]}.
struct VocabSet {
  enum Table { kItems = 0, kCats = 1, kUsers = 2 };
  static constexpr const char* kNames[3] = {"items", "cats", "users"};

  TokenTable tables[3];
  bool hasUsers = false;

  // Parses the JSON text (strict: UTF-8, exactly these keys, each an array of strings,
  // token 0 "", no token twice). Throws FormatError "vocab.<table>[i]: <why>", with "at
  // byte N" where the text itself is malformed.
  // wtf8: the text is a JS string as WTF-8 (utf16ToWtf8), where a lone surrogate is a
  // character JSON.parse accepts in a string; in a file it is invalid UTF-8.
  static VocabSet parse(const uint8_t* text, size_t n, bool wtf8 = false);
  // The JSON text JSON.stringify writes for the same vocabularies (lib/data/vocab.ts
  // vocabulariesToJson), byte for byte: a re-saved vocabulary file keeps its hash.
  std::string toJson() const;
  size_t bytes() const;
};

// UTF-16 (a JS string's code units) <-> WTF-8.
void utf16ToWtf8(const char16_t* s, size_t n, std::string& out);
void wtf8ToUtf16(std::string_view s, std::u16string& out);

}  // namespace dien
