#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "errors.h"

namespace dien {

Json Json::boolean(bool b) {
  Json j;
  j.kind_ = Kind::Bool;
  j.bool_ = b;
  return j;
}
Json Json::number(double d) {
  Json j;
  j.kind_ = Kind::Number;
  j.number_ = d;
  return j;
}
Json Json::string(std::string s) {
  Json j;
  j.kind_ = Kind::String;
  j.string_ = std::move(s);
  return j;
}
Json Json::array() {
  Json j;
  j.kind_ = Kind::Array;
  return j;
}
Json Json::object() {
  Json j;
  j.kind_ = Kind::Object;
  return j;
}

bool Json::isInteger() const {
  return kind_ == Kind::Number && std::isfinite(number_) && std::floor(number_) == number_ &&
         std::fabs(number_) <= 9007199254740992.0;
}

const Json* Json::find(const std::string& key) const {
  for (const auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

void Json::set(const std::string& key, Json v) {
  for (auto& m : members_)
    if (m.first == key) {
      m.second = std::move(v);
      return;
    }
  members_.emplace_back(key, std::move(v));
}

const char* Json::kindName(Kind k) {
  switch (k) {
    case Kind::Null: return "null";
    case Kind::Bool: return "boolean";
    case Kind::Number: return "number";
    case Kind::String: return "string";
    case Kind::Array: return "array";
    case Kind::Object: return "object";
  }
  return "?";
}

class JsonParser {
 public:
  JsonParser(const std::string& s, const std::string& what, size_t maxValues)
      : s_(s), what_(what), valuesLeft_(maxValues) {}

  Json parseDocument() {
    skipSpace();
    Json v = parseValue(0);
    skipSpace();
    if (pos_ != s_.size()) fail("unexpected trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw JsonError(cat(what_, ": invalid JSON: ", reason, " at byte ", pos_));
  }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expectWord(const char* w) {
    for (const char* p = w; *p; ++p)
      if (!consume(*p)) fail(cat("expected '", w, "'"));
  }

  Json parseValue(int depth) {
    if (depth > 64) fail("nesting too deep");
    if (valuesLeft_-- == 0) fail("too many values");
    if (pos_ >= s_.size()) fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{') return parseObject(depth);
    if (c == '[') return parseArray(depth);
    if (c == '"') return Json::string(parseString());
    if (c == 't') {
      expectWord("true");
      return Json::boolean(true);
    }
    if (c == 'f') {
      expectWord("false");
      return Json::boolean(false);
    }
    if (c == 'n') {
      expectWord("null");
      return Json();
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parseNumber();
    fail(cat("unexpected character '", c, "'"));
  }

  Json parseNumber() {
    const size_t start = pos_;
    consume('-');
    if (!consume('0')) {
      if (pos_ >= s_.size() || s_[pos_] < '1' || s_[pos_] > '9') fail("bad number");
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    if (consume('.')) {
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') fail("bad number");
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (!consume('+')) consume('-');
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') fail("bad number");
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    double d = 0;  // from_chars: locale-independent, exact round trip
    const auto r = std::from_chars(s_.data() + start, s_.data() + pos_, d);
    if (r.ec != std::errc() || r.ptr != s_.data() + pos_ || !std::isfinite(d)) fail("number out of range");
    return Json::number(d);
  }

  unsigned parseHex4() {
    if (pos_ + 4 > s_.size()) fail("bad \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = json_text::hexDigit(static_cast<unsigned char>(s_[pos_++]));
      if (d < 0) fail("bad \\u escape");
      v = (v << 4) | static_cast<unsigned>(d);
    }
    return v;
  }

  std::string parseString() {
    if (!consume('"')) fail("expected string");
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      if (const int plain = json_text::shortEscape(e); plain >= 0) {
        out += static_cast<char>(plain);
        continue;
      }
      if (e != 'u') fail("bad escape");
      unsigned cp = parseHex4();
      if (cp >= 0xD800 && cp < 0xDC00) {
        if (!consume('\\') || !consume('u')) fail("lone surrogate");
        const unsigned lo = parseHex4();
        if (lo < 0xDC00 || lo > 0xDFFF) fail("bad surrogate pair");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail("lone surrogate");
      }
      json_text::appendUtf8(out, cp);
    }
  }

  Json parseArray(int depth) {
    consume('[');
    Json arr = Json::array();
    skipSpace();
    if (consume(']')) return arr;
    for (;;) {
      skipSpace();
      arr.items_.push_back(parseValue(depth + 1));
      skipSpace();
      if (consume(']')) return arr;
      if (!consume(',')) fail("expected ',' or ']'");
    }
  }

  Json parseObject(int depth) {
    consume('{');
    Json obj = Json::object();
    std::unordered_set<std::string> keys;  // a linear find per key would make a hostile header quadratic
    skipSpace();
    if (consume('}')) return obj;
    for (;;) {
      skipSpace();
      std::string key = parseString();
      if (!keys.insert(key).second) fail(cat("duplicate key \"", key, "\""));
      skipSpace();
      if (!consume(':')) fail("expected ':'");
      skipSpace();
      obj.members_.emplace_back(std::move(key), parseValue(depth + 1));
      skipSpace();
      if (consume('}')) return obj;
      if (!consume(',')) fail("expected ',' or '}'");
    }
  }

  const std::string& s_;
  const std::string& what_;
  size_t valuesLeft_;
  size_t pos_ = 0;
};

namespace json_text {

int shortEscape(int letter) {
  switch (letter) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return -1;
  }
}

int hexDigit(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace json_text

Json Json::parse(const std::string& text, const std::string& what, size_t maxValues) {
  return JsonParser(text, what, maxValues).parseDocument();
}

namespace {
void dumpString(const std::string& s, std::string& out) {
  out += '"';
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else
      out += ch;
  }
  out += '"';
}

void dumpValue(const Json& v, std::string& out) {
  switch (v.kind()) {
    case Json::Kind::Null: out += "null"; break;
    case Json::Kind::Bool: out += v.asBool() ? "true" : "false"; break;
    case Json::Kind::Number: {
      char buf[32];  // to_chars: the shortest text that reads back to the same double
      const auto r = v.isInteger() ? std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v.asNumber()))
                                   : std::to_chars(buf, buf + sizeof buf, v.asNumber());
      out.append(buf, r.ptr);
      break;
    }
    case Json::Kind::String: dumpString(v.asString(), out); break;
    case Json::Kind::Array: {
      out += '[';
      bool first = true;
      for (const auto& i : v.items()) {
        if (!first) out += ',';
        first = false;
        dumpValue(i, out);
      }
      out += ']';
      break;
    }
    case Json::Kind::Object: {
      out += '{';
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) out += ',';
        first = false;
        dumpString(m.first, out);
        out += ':';
        dumpValue(m.second, out);
      }
      out += '}';
      break;
    }
  }
}
}  // namespace

std::string Json::dump() const {
  std::string out;
  dumpValue(*this, out);
  return out;
}

}  // namespace dien
