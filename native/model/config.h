// The model config of docs/model.md §12: parsed strictly (every key present, no unknown key,
// right JSON type, value in its set) and checked against the rules between keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/json.h"
#include "../ops/gates.h"

namespace dien {

enum class ModelKind { Base, WideDeep, Pnn, Din, GruAtt, DienAigru, DienAgru, DienAugru, Dien };
enum class AttentionKind { Mlp, Bilinear };
enum class Activation { Dice, Prelu, Relu };
enum class AuxNet { Mlp, Dot };

struct Config {
  ModelKind model = ModelKind::Dien;
  int64_t itemVocab = 1, catVocab = 1, userVocab = 0;
  int dItem = 18, dCat = 18, dUser = 0;
  int hidden = 36, maxLen = 100;
  GruCell gruCell = GruCell::ResetAfter;
  AttentionKind attention = AttentionKind::Mlp;
  std::vector<int> attentionHidden{80, 40};
  Evolution evolution = Evolution::Augru;
  std::vector<int> mlpHidden{200, 80};
  Activation activation = Activation::Dice;
  bool mlpBn = false;
  AuxNet auxNet = AuxNet::Mlp;
  std::vector<int> auxHidden{100, 50};
  double auxAlpha = 1.0;
  double diceEps = 1e-8, bnEps = 1e-5;

  // Parses and validates; throws ConfigError naming the key.
  static Config fromJson(const Json& j);
  static Config fromJsonText(const std::string& text);
  Json toJson() const;
  // Re-checks the rules between keys (fromJson calls it; create paths call it too).
  void validate() const;

  int embedWidth() const { return dItem + dCat; }  // E
  bool hasUser() const { return userVocab > 0; }
  bool hasGru() const;
  bool hasAttention() const;  // din and the GRU models
  bool hasAuxTensors() const { return hasGru() && auxAlpha > 0 && auxNet == AuxNet::Mlp; }
  int pnnFields() const { return hasUser() ? 5 : 4; }
  int interestWidth() const;
  int mlpInputWidth() const { return dUser + 3 * embedWidth() + interestWidth(); }  // D_in
};

const char* modelName(ModelKind k);
const char* evolutionName(Evolution e);

}  // namespace dien
