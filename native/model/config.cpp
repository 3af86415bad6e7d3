#include "config.h"

#include <set>

#include "../common/errors.h"

namespace dien {

namespace {

template <typename E>
struct Named {
  const char* name;
  E value;
};

const Named<ModelKind> kModels[] = {{"base", ModelKind::Base},
                                    {"wide-deep", ModelKind::WideDeep},
                                    {"pnn", ModelKind::Pnn},
                                    {"din", ModelKind::Din},
                                    {"gru-att", ModelKind::GruAtt},
                                    {"dien-aigru", ModelKind::DienAigru},
                                    {"dien-agru", ModelKind::DienAgru},
                                    {"dien-augru", ModelKind::DienAugru},
                                    {"dien", ModelKind::Dien}};
const Named<GruCell> kCells[] = {{"reset-after", GruCell::ResetAfter}, {"reset-before", GruCell::ResetBefore}};
const Named<AttentionKind> kAttention[] = {{"mlp", AttentionKind::Mlp}, {"bilinear", AttentionKind::Bilinear}};
const Named<Evolution> kEvolution[] = {{"augru", Evolution::Augru},
                                       {"augru-orig", Evolution::AugruOrig},
                                       {"agru", Evolution::Agru},
                                       {"aigru", Evolution::Aigru},
                                       {"gru-att", Evolution::GruAtt}};
const Named<Activation> kActivation[] = {
    {"dice", Activation::Dice}, {"prelu", Activation::Prelu}, {"relu", Activation::Relu}};
const Named<AuxNet> kAux[] = {{"mlp", AuxNet::Mlp}, {"dot", AuxNet::Dot}};

template <typename E, size_t N>
const char* nameOf(const Named<E> (&table)[N], E v) {
  for (const auto& t : table)
    if (t.value == v) return t.name;
  return "?";
}

template <typename E, size_t N>
std::string choices(const Named<E> (&table)[N]) {
  std::string s;
  for (size_t i = 0; i < N; ++i) s += cat(i ? ", " : "", "\"", table[i].name, "\"");
  return s;
}

const char* const kKeys[] = {"model",     "itemVocab", "catVocab",   "userVocab", "dItem",     "dCat",
                             "dUser",     "hidden",    "maxLen",     "gruCell",   "attention", "attentionHidden",
                             "evolution", "mlpHidden", "activation", "mlpBn",     "auxNet",    "auxHidden",
                             "auxAlpha",  "diceEps",   "bnEps"};

std::string describe(const Json& v) {
  if (v.isString()) return cat("\"", v.asString(), "\"");
  if (v.isNumber() || v.isBool()) return v.dump();
  return Json::kindName(v.kind());
}

class Reader {
 public:
  explicit Reader(const Json& j) : j_(j) {}
  const Json& get(const char* key) const {
    const Json* v = j_.find(key);
    if (!v) throw ConfigError(cat("config: missing key \"", key, "\""));
    return *v;
  }
  int64_t integer(const char* key, int64_t min, int64_t max = 2147483647) const {
    const Json& v = get(key);
    if (!v.isInteger()) throw ConfigError(cat("config.", key, ": expected an integer but got ", describe(v)));
    const double d = v.asNumber();
    if (d < static_cast<double>(min) || d > static_cast<double>(max))
      throw ConfigError(cat("config.", key, ": expected an integer in [", min, ", ", max, "] but got ", describe(v)));
    return static_cast<int64_t>(d);
  }
  double number(const char* key, double min, bool exclusive) const {
    const Json& v = get(key);
    if (!v.isNumber()) throw ConfigError(cat("config.", key, ": expected a number but got ", describe(v)));
    const double d = v.asNumber();
    if (exclusive ? !(d > min) : !(d >= min))
      throw ConfigError(
          cat("config.", key, ": expected a number ", exclusive ? "> " : ">= ", min, " but got ", describe(v)));
    return d;
  }
  bool boolean(const char* key) const {
    const Json& v = get(key);
    if (!v.isBool()) throw ConfigError(cat("config.", key, ": expected a boolean but got ", describe(v)));
    return v.asBool();
  }
  std::vector<int> sizes(const char* key) const {
    const Json& v = get(key);
    if (!v.isArray()) throw ConfigError(cat("config.", key, ": expected an array of integers but got ", describe(v)));
    if (v.items().size() > 16) throw ConfigError(cat("config.", key, ": at most 16 layers, got ", v.items().size()));
    std::vector<int> out;
    for (size_t i = 0; i < v.items().size(); ++i) {
      const Json& e = v.items()[i];
      if (!e.isInteger() || e.asNumber() < 1 || e.asNumber() > 65536)
        throw ConfigError(cat("config.", key, "[", i, "]: expected an integer in [1, 65536] but got ", describe(e)));
      out.push_back(static_cast<int>(e.asNumber()));
    }
    return out;
  }
  template <typename E, size_t N>
  E choice(const char* key, const Named<E> (&table)[N]) const {
    const Json& v = get(key);
    if (v.isString())
      for (const auto& t : table)
        if (v.asString() == t.name) return t.value;
    throw ConfigError(cat("config.", key, ": expected one of ", choices(table), " but got ", describe(v)));
  }

 private:
  const Json& j_;
};

Json sizesJson(const std::vector<int>& v) {
  Json a = Json::array();
  for (int x : v) a.push(Json::number(x));
  return a;
}

}  // namespace

const char* modelName(ModelKind k) { return nameOf(kModels, k); }
const char* evolutionName(Evolution e) { return nameOf(kEvolution, e); }

bool Config::hasGru() const {
  return model == ModelKind::GruAtt || model == ModelKind::DienAigru || model == ModelKind::DienAgru ||
         model == ModelKind::DienAugru || model == ModelKind::Dien;
}

bool Config::hasAttention() const { return model == ModelKind::Din || hasGru(); }

int Config::interestWidth() const {
  switch (model) {
    case ModelKind::Base:
    case ModelKind::WideDeep: return 0;
    case ModelKind::Pnn: {
      const int n = pnnFields();
      return n * (n - 1) / 2;
    }
    case ModelKind::Din: return embedWidth();
    default: return hidden;
  }
}

Config Config::fromJsonText(const std::string& text) {
  try {
    return fromJson(Json::parse(text, "config"));
  } catch (const JsonError& e) {
    throw ConfigError(e.what());
  }
}

Config Config::fromJson(const Json& j) {
  if (!j.isObject()) throw ConfigError(cat("config: expected a JSON object but got ", describe(j)));
  const std::set<std::string> known(std::begin(kKeys), std::end(kKeys));
  for (const auto& m : j.members())
    if (!known.count(m.first)) throw ConfigError(cat("config: unknown key \"", m.first, "\""));
  Reader r(j);
  Config c;
  c.model = r.choice("model", kModels);
  c.itemVocab = r.integer("itemVocab", 1);
  c.catVocab = r.integer("catVocab", 1);
  c.userVocab = r.integer("userVocab", 0);
  c.dItem = static_cast<int>(r.integer("dItem", 1, 65536));
  c.dCat = static_cast<int>(r.integer("dCat", 1, 65536));
  c.dUser = static_cast<int>(r.integer("dUser", 0, 65536));
  c.hidden = static_cast<int>(r.integer("hidden", 1, 65536));
  c.maxLen = static_cast<int>(r.integer("maxLen", 1, 65536));
  c.gruCell = r.choice("gruCell", kCells);
  c.attention = r.choice("attention", kAttention);
  c.attentionHidden = r.sizes("attentionHidden");
  c.evolution = r.choice("evolution", kEvolution);
  c.mlpHidden = r.sizes("mlpHidden");
  c.activation = r.choice("activation", kActivation);
  c.mlpBn = r.boolean("mlpBn");
  c.auxNet = r.choice("auxNet", kAux);
  c.auxHidden = r.sizes("auxHidden");
  c.auxAlpha = r.number("auxAlpha", 0, false);
  c.diceEps = r.number("diceEps", 0, true);
  c.bnEps = r.number("bnEps", 0, true);
  c.validate();
  return c;
}

void Config::validate() const {
  if ((dUser == 0) != (userVocab == 0))
    throw ConfigError(cat("config.dUser: dUser (", dUser, ") and userVocab (", userVocab,
                          ") must both be 0 (no user field) or both be > 0"));
  Evolution fixed = evolution;
  switch (model) {
    case ModelKind::GruAtt: fixed = Evolution::GruAtt; break;
    case ModelKind::DienAigru: fixed = Evolution::Aigru; break;
    case ModelKind::DienAgru: fixed = Evolution::Agru; break;
    case ModelKind::DienAugru: fixed = Evolution::Augru; break;
    default: break;
  }
  if (fixed != evolution)
    throw ConfigError(cat("config.evolution: model \"", modelName(model), "\" requires evolution \"",
                          evolutionName(fixed), "\" but got \"", evolutionName(evolution), "\""));
  if (!hasGru() && auxAlpha != 0)
    throw ConfigError(
        cat("config.auxAlpha: model \"", modelName(model), "\" has no GRU, so auxAlpha must be 0 but got ", auxAlpha));
  if (model == ModelKind::Pnn) {
    if (dItem != dCat)
      throw ConfigError(cat("config.dCat: pnn needs dItem == dCat but got dItem ", dItem, ", dCat ", dCat));
    if (hasUser() && dUser != dItem)
      throw ConfigError(
          cat("config.dUser: pnn with a user field needs dUser == dItem but got dUser ", dUser, ", dItem ", dItem));
  }
  if (hasGru() && auxAlpha > 0 && auxNet == AuxNet::Dot && hidden != embedWidth())
    throw ConfigError(
        cat("config.auxNet: \"dot\" needs hidden == dItem + dCat but got hidden ", hidden, ", E ", embedWidth()));
}

Json Config::toJson() const {
  Json j = Json::object();
  j.set("model", Json::string(modelName(model)));
  j.set("itemVocab", Json::number(static_cast<double>(itemVocab)));
  j.set("catVocab", Json::number(static_cast<double>(catVocab)));
  j.set("userVocab", Json::number(static_cast<double>(userVocab)));
  j.set("dItem", Json::number(dItem));
  j.set("dCat", Json::number(dCat));
  j.set("dUser", Json::number(dUser));
  j.set("hidden", Json::number(hidden));
  j.set("maxLen", Json::number(maxLen));
  j.set("gruCell", Json::string(nameOf(kCells, gruCell)));
  j.set("attention", Json::string(nameOf(kAttention, attention)));
  j.set("attentionHidden", sizesJson(attentionHidden));
  j.set("evolution", Json::string(evolutionName(evolution)));
  j.set("mlpHidden", sizesJson(mlpHidden));
  j.set("activation", Json::string(nameOf(kActivation, activation)));
  j.set("mlpBn", Json::boolean(mlpBn));
  j.set("auxNet", Json::string(nameOf(kAux, auxNet)));
  j.set("auxHidden", sizesJson(auxHidden));
  j.set("auxAlpha", Json::number(auxAlpha));
  j.set("diceEps", Json::number(diceEps));
  j.set("bnEps", Json::number(bnEps));
  return j;
}

}  // namespace dien
