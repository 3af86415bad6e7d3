// A small, strict JSON reader and writer: enough for safetensors headers and model
// configs. Rejects trailing garbage, duplicate object keys, and nesting deeper than 64.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dien {

class Json {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Json() = default;
  static Json boolean(bool b);
  static Json number(double d);
  static Json string(std::string s);
  static Json array();
  static Json object();

  // Throws JsonError("<what>: invalid JSON: <reason> at byte N"). maxValues bounds the
  // number of values (each costs ~100 bytes in memory, far more than in the text).
  static Json parse(const std::string& text, const std::string& what, size_t maxValues = 1u << 18);

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }
  // True for numbers with no fractional part that fit in int64.
  bool isInteger() const;

  bool asBool() const { return bool_; }
  double asNumber() const { return number_; }
  const std::string& asString() const { return string_; }
  const std::vector<Json>& items() const { return items_; }
  // Object members in document order.
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }
  const Json* find(const std::string& key) const;

  void push(Json v) { items_.push_back(std::move(v)); }
  void set(const std::string& key, Json v);

  std::string dump() const;
  static const char* kindName(Kind k);

 private:
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
  friend class JsonParser;
};

// Pieces of JSON's string syntax, shared by this reader and the vocabulary parser
// (data/vocab_index.cpp).
namespace json_text {
// The character a one-letter escape (\" \\ \/ \b \f \n \r \t) stands for; -1 for any other letter.
int shortEscape(int letter);
// The value of a hex digit; -1 for any other character.
int hexDigit(int c);
// Appends code point cp as UTF-8 (a lone surrogate as its 3-byte form, which is WTF-8).
void appendUtf8(std::string& out, uint32_t cp);
}  // namespace json_text

}  // namespace dien
