// The native vocabulary index (data/vocab_index.h): parse, look up, write back byte for
// byte, and reject every malformed text with the field and byte it went wrong at.
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"
#include "data/vocab_index.h"
#include "test_harness.h"

using namespace dien;
using namespace dien::test;

namespace {

VocabSet parseText(const std::string& s) {
  return VocabSet::parse(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string wtf8(const std::u16string& s) {
  std::string out;
  utf16ToWtf8(s.data(), s.size(), out);
  return out;
}

}  // namespace

TEST(vocab_index_parses_looks_up_and_writes_back) {
  const std::string text =
      R"({"items":["","a","b\"q","\u00e9t\u00e9","é2","\ud83d\ude00","\ud800","x\u0001\n"],"cats":[""]})";
  const VocabSet v = parseText(text);
  CHECK(!v.hasUsers);
  const TokenTable& items = v.tables[VocabSet::kItems];
  CHECK(items.size() == 8);
  CHECK(v.tables[VocabSet::kCats].size() == 1);
  CHECK(items.find("a") == 1);
  CHECK(items.find("b\"q") == 2);
  CHECK(items.find("\xc3\xa9t\xc3\xa9") == 3);  // escaped and raw UTF-8 are one token
  CHECK(items.find("\xc3\xa9"
                   "2") == 4);
  CHECK(items.find(wtf8(u"\U0001F600")) == 5);                        // a surrogate pair is one code point
  CHECK(items.find(wtf8(std::u16string(1, char16_t(0xd800)))) == 6);  // a lone surrogate stays itself
  CHECK(items.find(wtf8(std::u16string(1, char16_t(0xfffd)))) == 0);  // ... and is not U+FFFD
  CHECK(items.find("x\x01\n") == 7);
  CHECK(items.find("") == 0 && items.find("zz") == 0);
  CHECK(items.token(0).empty() && items.token(1) == "a" && items.token(99).empty());
  // What JSON.stringify writes for the same strings.
  CHECK_MSG(v.toJson() ==
                "{\"items\":[\"\",\"a\",\"b\\\"q\",\"\xc3\xa9t\xc3\xa9\",\"\xc3\xa9"
                "2\",\"\xf0\x9f\x98\x80\",\"\\ud800\",\"x\\u0001\\n\"],\"cats\":[\"\"]}",
            v.toJson());
  // Whitespace, any key order, users present.
  const VocabSet w = parseText(" {\n \"users\" : [ \"\" , \"u\" ] , \"cats\":[\"\",\"c\"],\t\"items\":[\"\"] } ");
  CHECK(w.hasUsers && w.tables[VocabSet::kUsers].find("u") == 1 && w.tables[VocabSet::kCats].find("c") == 1);
  CHECK(w.toJson() == R"({"items":[""],"cats":["","c"],"users":["","u"]})");
}

TEST(vocab_index_round_trips_random_strings) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; round++) {
    std::vector<std::string> tokens;
    std::string text = "{\"items\":[\"\"";
    VocabSet scratch;
    for (int i = 0; i < 300; i++) {
      std::u16string u;
      const int len = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < len; k++) {
        const uint32_t pick = rng() % 10;
        // ASCII, controls, BMP, surrogates alone or in pairs.
        u += static_cast<char16_t>(pick < 4   ? 0x20 + rng() % 95
                                   : pick < 5 ? rng() % 0x20
                                   : pick < 7 ? 0x80 + rng() % 0xd000
                                              : 0xd800 + rng() % 0x800);
      }
      const std::string t = wtf8(u);
      bool seen = false;
      for (const auto& s : tokens) seen = seen || s == t;
      if (seen) continue;
      tokens.push_back(t);
    }
    // Written by the native writer, parsed back: the same ids and the same bytes.
    for (const auto& t : tokens) scratch.tables[0].append(t);
    scratch.tables[0].index("items");
    scratch.tables[1].index("cats");
    const std::string json = scratch.toJson();
    const VocabSet back = parseText(json);
    CHECK(back.tables[0].size() == tokens.size() + 1);
    for (size_t i = 0; i < tokens.size(); i++) CHECK(back.tables[0].find(tokens[i]) == static_cast<int32_t>(i + 1));
    CHECK(back.toJson() == json);
    (void)text;
  }
}

TEST(vocab_index_rejects_malformed_text_naming_where) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "vocab: the text ends early at byte 0"},
      {"[]", "expected an object"},
      {R"({"items":[""]})", "the key \"cats\" is missing"},
      {R"({"items":[""],"cats":[""],"items":[""]})", "key \"items\" appears twice"},
      {R"({"items":[""],"cats":[""],"tags":[""]})", "unknown key \"tags\""},
      {R"({"items":[],"cats":[""]})", "vocab.items: is empty"},
      {R"({"items":["a"],"cats":[""]})", "vocab.items[0]: id 0 is reserved"},
      {R"({"items":["","a","b","a"],"cats":[""]})", "vocab.items[3]: \"a\" appears twice (also at 1)"},
      {R"({"items":["",""],"cats":[""]})", "vocab.items[1]: \"\" appears twice"},
      {R"({"items":["",3],"cats":[""]})", "vocab.items[1]: expected a string but got a number"},
      {R"({"items":["",null],"cats":[""]})", "got null"},
      {R"({"items":[""],"cats":["",{}]})", "vocab.cats[1]: expected a string but got an object"},
      {R"({"items":["","a"  "b"],"cats":[""]})", "vocab.items: expected ',' or ']'"},
      {R"({"items":["","a\x"],"cats":[""]})", "not a JSON escape"},
      {R"({"items":["","\u12"],"cats":[""]})", "four hex digits"},
      {"{\"items\":[\"\",\"a\x01\"],\"cats\":[\"\"]}", "control character"},
      {"{\"items\":[\"\",\"\xff\"],\"cats\":[\"\"]}", "vocab.items[1]: the text is not valid UTF-8"},
      {"{\"items\":[\"\",\"\xed\xa0\x80\"],\"cats\":[\"\"]}", "not valid UTF-8"},  // a raw surrogate
      {"{\"items\":[\"\",\"\xc0\xaf\"],\"cats\":[\"\"]}", "not valid UTF-8"},      // overlong
      {"{\"items\":[\"\",\"\xe2\x82\"],\"cats\":[\"\"]}", "not valid UTF-8"},      // cut short
      {R"({"items":["","abc)", "a string is not closed"},
      {R"({"items":[""],"cats":[""]} x)", "unexpected text after the object"},
      {R"({"items":[""],"cats":[""])", "the text ends early"},
  };
  for (const auto& [text, needle] : bad) expectThrow<FormatError>([&] { parseText(text); }, needle);
  // A JS string's text (WTF-8): a lone surrogate in a string is a character, as JSON.parse
  // has it; outside a string, or in a file's UTF-8, it is an error.
  const std::string lone = "{\"items\":[\"\",\"\xed\xa0\x80\"],\"cats\":[\"\"]}";
  const VocabSet v = VocabSet::parse(reinterpret_cast<const uint8_t*>(lone.data()), lone.size(), true);
  CHECK(v.tables[0].find(wtf8(std::u16string(1, char16_t(0xd800)))) == 1);
  CHECK(v.toJson() == R"({"items":["","\ud800"],"cats":[""]})");
  expectThrow<FormatError>([&] { parseText(lone); }, "not valid UTF-8");
  // A pair that arrives as an escape and a raw surrogate (or the other way) is one code point.
  const std::string mixed = "{\"items\":[\"\",\"\\ud83d\xed\xb0\x80\",\"\xed\xa0\xbd\\udc01\"],\"cats\":[\"\"]}";
  const VocabSet m = VocabSet::parse(reinterpret_cast<const uint8_t*>(mixed.data()), mixed.size(), true);
  CHECK(m.tables[0].find(wtf8(u"\U0001F400")) == 1 && m.tables[0].find(wtf8(u"\U0001F401")) == 2);
  const std::string outside = "\xed\xa0\x80{\"items\":[\"\"],\"cats\":[\"\"]}";
  expectThrow<FormatError>(
      [&] { VocabSet::parse(reinterpret_cast<const uint8_t*>(outside.data()), outside.size(), true); },
      "expected an object");
  // Every prefix of a valid text is rejected, never half-read.
  const std::string good = R"({"items":["","a","\u00e9"],"cats":["","c"],"users":["","u"]})";
  for (size_t n = 0; n < good.size(); n++) expectThrow<FormatError>([&] { parseText(good.substr(0, n)); }, "vocab");
}

TEST(vocab_index_holds_a_large_table) {
  VocabSet v;
  const int n = 200000;
  for (int i = 1; i < n; i++) v.tables[0].append("item-" + std::to_string(i * 7919));
  v.tables[0].index("items");
  v.tables[1].index("cats");
  for (int i = 1; i < n; i += 997) CHECK(v.tables[0].find("item-" + std::to_string(i * 7919)) == i);
  CHECK(v.tables[0].find("item-1") == 0);
  // findMany agrees with find, over blocks, absent keys and "".
  std::vector<std::string> probes;
  for (int i = 0; i < 1000; i++)
    probes.push_back(i % 7 == 0 ? "" : "item-" + std::to_string((i * 31) * (i % 3 ? 7919 : 1)));
  std::vector<std::string_view> keys(probes.begin(), probes.end());
  std::vector<int32_t> ids(keys.size(), -1);
  v.tables[0].findMany(keys.data(), keys.size(), ids.data());
  for (size_t i = 0; i < keys.size(); i++) CHECK(ids[i] == v.tables[0].find(keys[i]));
  VocabSet empty;
  empty.tables[0].findMany(keys.data(), keys.size(), ids.data());
  for (const int32_t id : ids) CHECK(id == 0);
  const std::string json = v.toJson();
  CHECK(parseText(json).tables[0].size() == static_cast<size_t>(n));
}
