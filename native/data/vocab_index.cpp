#include "vocab_index.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "../common/errors.h"
#include "../common/json.h"

namespace dien {

namespace {

// SipHash-1-3 with a key drawn once per process: a vocabulary file is data from
// elsewhere, and one built so that its tokens collide would turn every insert and
// look-up into a walk along one cluster. The hash never leaves the process.
struct HashKey {
  uint64_t k0, k1;
};

HashKey drawKey() {
  uint64_t k[2];
  try {
    std::random_device rd;
    for (uint64_t& x : k) x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
    // No entropy source: the addresses of a stack and a static object still vary per run (ASLR).
    int local = 0;
    static int anchor = 0;
    k[0] = reinterpret_cast<uintptr_t>(&local) * 0x9e3779b97f4a7c15ULL;
    k[1] = reinterpret_cast<uintptr_t>(&anchor) * 0xc2b2ae3d27d4eb4fULL;
  }
  return {k[0], k[1]};
}

const HashKey& hashKey() {
  static const HashKey key = drawKey();
  return key;
}

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline void sipRound(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13);
  v1 ^= v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotl(v1, 17);
  v1 ^= v2;
  v2 = rotl(v2, 32);
}

uint64_t tokenHash(std::string_view s) {
  const HashKey& key = hashKey();
  uint64_t v0 = 0x736f6d6570736575ULL ^ key.k0, v1 = 0x646f72616e646f6dULL ^ key.k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ key.k0, v3 = 0x7465646279746573ULL ^ key.k1;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  const unsigned char* end = p + (n & ~size_t{7});
  for (; p != end; p += 8) {
    uint64_t m;
    std::memcpy(&m, p, 8);  // byte order does not matter: the hash stays in this process
    v3 ^= m;
    sipRound(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(n) << 56;
  for (size_t i = 0; i < (n & 7); i++) b |= static_cast<uint64_t>(p[i]) << (8 * i);
  v3 ^= b;
  sipRound(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < 3; i++) sipRound(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

void quote(std::string_view s, std::string& out);

// A token for a message: as JSON.stringify writes it, cut after 40 bytes (at a character's start).
std::string quoted(std::string_view s) {
  size_t cut = s.size();
  if (cut > 40) {
    cut = 40;
    while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xc0) == 0x80) cut--;
  }
  std::string out;
  quote(s.substr(0, cut), out);
  if (cut < s.size()) out.insert(out.size() - 1, "...");
  return out;
}

// A recursive-descent reader for exactly {"items": [strings], "cats": [...], "users"?: [...]}.
class VocabParser {
 public:
  VocabParser(const uint8_t* text, size_t n, bool wtf8) : p_(text), n_(n), wtf8_(wtf8) {}

  VocabSet run() {
    VocabSet v;
    bool seen[3] = {false, false, false};
    ws();
    expect('{', "expected an object { items, cats, users? }");
    ws();
    if (peek() != '}') {
      for (;;) {
        if (peek() != '"') fail(kObject, "expected a key in quotes");
        const size_t keyAt = i_;
        std::string key;
        string(key, kObject);
        int t = -1;
        for (int k = 0; k < 3; k++)
          if (key == VocabSet::kNames[k]) t = k;
        if (t < 0) failAt(kObject, keyAt, cat("unknown key ", quoted(key), " (expected items, cats and users)"));
        if (seen[t]) failAt(kObject, keyAt, cat("key \"", key, "\" appears twice"));
        seen[t] = true;
        ws();
        expect(':', "expected ':' after a key");
        ws();
        array(v.tables[t], VocabSet::kNames[t]);
        ws();
        if (peek() == ',') {
          i_++;
          ws();
          continue;
        }
        break;
      }
    }
    expect('}', "expected ',' or '}'");
    ws();
    if (i_ != n_) fail(kObject, "unexpected text after the object");
    for (int t = 0; t < 2; t++)
      if (!seen[t]) fail(kObject, cat("the key \"", VocabSet::kNames[t], "\" is missing"));
    v.hasUsers = seen[VocabSet::kUsers];
    for (int t = 0; t < 3; t++)
      if (seen[t]) v.tables[t].index(VocabSet::kNames[t]);
    return v;
  }

 private:
  int peek() const { return i_ < n_ ? p_[i_] : -1; }
  void ws() {
    while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) i_++;
  }
  // Where a failure is: a table's name (or "" for the object) and an index (kNoIndex: none).
  struct Field {
    const char* name;
    size_t index;
  };
  static constexpr size_t kNoIndex = SIZE_MAX;
  [[noreturn]] void failAt(Field f, size_t at, const std::string& why) const {
    std::string where = "vocab";
    if (f.name[0]) where += cat(".", f.name);
    if (f.index != kNoIndex) where += cat("[", f.index, "]");
    throw FormatError(cat(where, ": ", why, " at byte ", at));
  }
  [[noreturn]] void fail(Field f, const std::string& why) const { failAt(f, i_, why); }
  void expect(char c, const char* why) {
    if (peek() != c) fail(kObject, i_ >= n_ ? "the text ends early" : why);
    i_++;
  }

  void array(TokenTable& table, const char* name) {
    if (peek() != '[') fail({name, kNoIndex}, "expected an array of strings");
    i_++;
    ws();
    if (peek() == ']') fail({name, kNoIndex}, "is empty; it must hold at least token 0, \"\"");
    for (size_t k = 0;; k++) {
      const Field f = {name, k};
      if (peek() != '"') fail(f, cat("expected a string but got ", kindAt()));
      if (k == 0) {
        std::string first;
        string(first, f);
        if (!first.empty())
          fail(f, cat("id 0 is reserved for padding and unknown ids, so it must be \"\" but got ", quoted(first)));
      } else {
        string(table.arena(), f);
        table.endToken();
      }
      ws();
      if (peek() == ',') {
        i_++;
        ws();
        continue;
      }
      if (peek() == ']') {
        i_++;
        return;
      }
      fail({name, kNoIndex}, i_ >= n_ ? "the text ends early" : "expected ',' or ']'");
    }
  }

  const char* kindAt() const {
    switch (peek()) {
      case -1: return "the end of the text";
      case '{': return "an object";
      case '[': return "an array";
      case 't':
      case 'f': return "a boolean";
      case 'n': return "null";
      case ']': return "']' (a comma before it?)";
      default: return (peek() == '-' || (peek() >= '0' && peek() <= '9')) ? "a number" : "something that is not JSON";
    }
  }

  uint32_t hex4(Field field) {
    if (n_ - i_ < 4) fail(field, "a \\u escape needs four hex digits");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
      const int d = json_text::hexDigit(p_[i_++]);
      if (d < 0) fail(field, "a \\u escape needs four hex digits");
      v = (v << 4) | static_cast<uint32_t>(d);
    }
    return v;
  }

  // Appends code point cp to the string that began at out[start]: a low surrogate after a
  // high one is one code point (a JS string's pair may arrive as an escape and a raw
  // character), so that every string has one WTF-8 form.
  static void append(std::string& out, size_t start, uint32_t cp) {
    const size_t n = out.size();
    if (cp >= 0xdc00 && cp <= 0xdfff && n - start >= 3 && static_cast<uint8_t>(out[n - 3]) == 0xed &&
        (static_cast<uint8_t>(out[n - 2]) & 0xf0) == 0xa0) {
      const uint32_t hi =
          0xd000 | ((static_cast<uint8_t>(out[n - 2]) & 0x3f) << 6) | (static_cast<uint8_t>(out[n - 1]) & 0x3f);
      out.resize(n - 3);
      cp = 0x10000 + ((hi - 0xd800) << 10) + (cp - 0xdc00);
    }
    json_text::appendUtf8(out, cp);
  }

  // The string at i_ (its opening quote), unescaped and appended to out as WTF-8.
  void string(std::string& out, Field field) {
    const size_t start = out.size();
    i_++;
    for (;;) {
      // The common case: a run of plain printable ASCII, copied at once.
      size_t j = i_;
      while (j < n_ && p_[j] >= 0x20 && p_[j] < 0x80 && p_[j] != '"' && p_[j] != '\\') j++;
      out.append(reinterpret_cast<const char*>(p_ + i_), j - i_);
      i_ = j;
      if (i_ >= n_) fail(field, "a string is not closed");
      const uint8_t c = p_[i_];
      if (c == '"') {
        i_++;
        return;
      }
      if (c == '\\') {
        i_++;
        if (i_ >= n_) fail(field, "a string is not closed");
        const uint8_t e = p_[i_++];
        if (const int plain = json_text::shortEscape(e); plain >= 0) {
          out += static_cast<char>(plain);
          continue;
        }
        if (e != 'u') failAt(field, i_ - 1, "not a JSON escape");
        uint32_t cp = hex4(field);
        // A high surrogate followed by an escaped low one is one code point; any other
        // surrogate stays alone, as JSON.parse leaves it.
        if (cp >= 0xd800 && cp <= 0xdbff && n_ - i_ >= 6 && p_[i_] == '\\' && p_[i_ + 1] == 'u') {
          const size_t back = i_;
          i_ += 2;
          const uint32_t lo = hex4(field);
          if (lo >= 0xdc00 && lo <= 0xdfff)
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          else
            i_ = back;
        }
        append(out, start, cp);
        continue;
      }
      if (c < 0x20) fail(field, "a control character must be escaped in a JSON string");
      utf8(out, start, field);
    }
  }

  // One multi-byte UTF-8 sequence at i_, checked (no overlong forms, no surrogates, at most U+10FFFF).
  void utf8(std::string& out, size_t start, Field field) {
    const uint8_t c = p_[i_];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07;
    else
      fail(field, "the text is not valid UTF-8");
    if (n_ - i_ < len) fail(field, "the text is not valid UTF-8");
    for (size_t k = 1; k < len; k++) {
      const uint8_t b = p_[i_ + k];
      if ((b & 0xc0) != 0x80) fail(field, "the text is not valid UTF-8");
      cp = (cp << 6) | (b & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (!wtf8_ && cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      fail(field, "the text is not valid UTF-8");
    if (cp >= 0xd800 && cp <= 0xdfff)
      append(out, start, cp);  // wtf8_ only: a JS string's lone surrogate
    else
      out.append(reinterpret_cast<const char*>(p_ + i_), len);
    i_ += len;
  }

  static constexpr Field kObject = {"", kNoIndex};
  const uint8_t* p_;
  size_t n_;
  bool wtf8_;  // the text is a JS string's: a lone surrogate in a string is one character
  size_t i_ = 0;
};

const char kHex[] = "0123456789abcdef";

// A WTF-8 token as JSON.stringify writes the JS string: quotes, backslashes and control
// characters escaped (the short forms where JSON has them), lone surrogates as \udXXX.
void quote(std::string_view s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size(); i++) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      switch (c) {
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
      }
    } else if (c == 0xed && i + 2 < s.size() && static_cast<uint8_t>(s[i + 1]) >= 0xa0) {
      const uint32_t cp =
          0xd000 | ((static_cast<uint8_t>(s[i + 1]) & 0x3f) << 6) | (static_cast<uint8_t>(s[i + 2]) & 0x3f);
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 15];
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

}  // namespace

std::string_view TokenTable::token(size_t id) const {
  if (id == 0 || id >= ends_.size()) return {};
  return std::string_view(text_).substr(ends_[id - 1], ends_[id] - ends_[id - 1]);
}

int32_t TokenTable::find(std::string_view key) const {
  if (slots_.empty() || key.empty()) return 0;
  return probe(key, tokenHash(key));
}

int32_t TokenTable::probe(std::string_view key, uint64_t h) const {
  const uint64_t tag = h >> 32;
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint64_t slot = slots_[i];
    const auto id = static_cast<uint32_t>(slot);
    if (id == 0) return 0;
    if ((slot >> 32) == tag && token(id) == key) return static_cast<int32_t>(id);
  }
}

void TokenTable::findMany(const std::string_view* keys, size_t n, int32_t* out) const {
  constexpr size_t kBlock = 32;
  uint64_t h[kBlock];
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t m = std::min(kBlock, n - b);
    if (slots_.empty()) {
      std::fill(out + b, out + b + m, 0);
      continue;
    }
    // Three rounds of prefetches, each needing the one before: the slot, the token's end
    // offsets, the token's text; then the probes, which mostly find all three in cache.
    for (size_t k = 0; k < m; k++) {
      h[k] = tokenHash(keys[b + k]);
      __builtin_prefetch(&slots_[h[k] & mask_]);
    }
    for (size_t k = 0; k < m; k++)
      if (const auto id = static_cast<uint32_t>(slots_[h[k] & mask_])) __builtin_prefetch(&ends_[id - 1]);
    for (size_t k = 0; k < m; k++)
      if (const auto id = static_cast<uint32_t>(slots_[h[k] & mask_])) __builtin_prefetch(text_.data() + ends_[id - 1]);
    for (size_t k = 0; k < m; k++) out[b + k] = keys[b + k].empty() ? 0 : probe(keys[b + k], h[k]);
  }
}

size_t TokenTable::bytes() const {
  return text_.capacity() + ends_.capacity() * sizeof(uint32_t) + slots_.capacity() * sizeof(uint64_t);
}

void TokenTable::append(std::string_view token) {
  text_.append(token);
  endToken();
}

void TokenTable::endToken() {
  if (text_.size() > UINT32_MAX || ends_.size() >= static_cast<size_t>(INT32_MAX))
    throw FormatError("vocab: a table holds over 4 GiB of text or 2^31 ids");
  ends_.push_back(static_cast<uint32_t>(text_.size()));
}

void TokenTable::index(const char* field) {
  text_.shrink_to_fit();
  ends_.shrink_to_fit();
  const size_t n = ends_.size();
  // At most two thirds full: a probe stays short even for a token that is absent.
  size_t cap = 16;
  while (cap < n + n / 2) cap <<= 1;
  slots_.assign(cap, 0);
  mask_ = cap - 1;
  // Slots are reached at random, so each insert would wait for memory: hash kAhead tokens
  // ahead and prefetch their slots (about 2x faster for millions of ids).
  constexpr size_t kAhead = 16;
  uint64_t ahead[kAhead];
  const auto hashAhead = [&](size_t id) {
    if (id >= n) return;
    const uint64_t h = tokenHash(token(id));
    ahead[id % kAhead] = h;
    __builtin_prefetch(&slots_[h & mask_], 1);
  };
  for (size_t id = 1; id < n && id <= kAhead; id++) hashAhead(id);
  for (size_t id = 1; id < n; id++) {
    const std::string_view t = token(id);
    if (t.empty()) throw FormatError(cat("vocab.", field, "[", id, "]: \"\" appears twice (it is id 0)"));
    const uint64_t h = ahead[id % kAhead];
    hashAhead(id + kAhead);
    size_t i = h & mask_;
    for (; slots_[i] != 0; i = (i + 1) & mask_) {
      const auto other = static_cast<uint32_t>(slots_[i]);
      if ((slots_[i] >> 32) == (h >> 32) && token(other) == t)
        throw FormatError(cat("vocab.", field, "[", id, "]: ", quoted(t), " appears twice (also at ", other, ")"));
    }
    slots_[i] = (h >> 32 << 32) | id;
  }
}

VocabSet VocabSet::parse(const uint8_t* text, size_t n, bool wtf8) { return VocabParser(text, n, wtf8).run(); }

std::string VocabSet::toJson() const {
  std::string out;
  size_t want = 64;
  for (int t = 0; t < 3; t++) want += tables[t].bytes() / 2;
  out.reserve(want);
  out += '{';
  for (int t = 0; t < 3; t++) {
    if (t == kUsers && !hasUsers) break;
    if (t > 0) out += ',';
    out += '"';
    out += kNames[t];
    out += "\":[";
    const TokenTable& table = tables[t];
    for (size_t id = 0; id < table.size(); id++) {
      if (id > 0) out += ',';
      quote(table.token(id), out);
    }
    out += ']';
  }
  out += '}';
  return out;
}

size_t VocabSet::bytes() const { return tables[0].bytes() + tables[1].bytes() + tables[2].bytes(); }

void utf16ToWtf8(const char16_t* s, size_t n, std::string& out) {
  out.clear();
  for (size_t i = 0; i < n; i++) {
    uint32_t cp = s[i];
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n && s[i + 1] >= 0xdc00 && s[i + 1] <= 0xdfff)
      cp = 0x10000 + ((cp - 0xd800) << 10) + (static_cast<uint32_t>(s[++i]) - 0xdc00);
    json_text::appendUtf8(out, cp);
  }
}

void wtf8ToUtf16(std::string_view s, std::u16string& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80)
      cp = c, len = 1;
    else if (c < 0xe0)
      cp = c & 0x1f, len = 2;
    else if (c < 0xf0)
      cp = c & 0x0f, len = 3;
    else
      cp = c & 0x07, len = 4;
    if (i + len > s.size()) len = s.size() - i;  // cannot happen for a parsed token; never read past the end
    for (size_t k = 1; k < len; k++) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3f);
    i += len;
    if (cp >= 0x10000) {
      out += static_cast<char16_t>(0xd800 + ((cp - 0x10000) >> 10));
      out += static_cast<char16_t>(0xdc00 + ((cp - 0x10000) & 0x3ff));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
}

}  // namespace dien
