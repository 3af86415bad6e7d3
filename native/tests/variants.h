// Model configs the native tests run: every zoo model, every evolution variant in
// both cell forms with both attentions, and odd layer shapes.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/engine.h"
#include "model/safetensors.h"
#include "test_util.h"

namespace dien {
namespace test {

inline Config smallConfig(ModelKind model, int H = 36) {
  Config c;
  c.model = model;
  c.itemVocab = 57;
  c.catVocab = 11;
  c.userVocab = 13;
  c.dItem = 18;
  c.dCat = 18;
  c.dUser = 18;
  c.hidden = H;
  c.maxLen = 9;
  c.auxAlpha = model == ModelKind::Dien ? 1.0 : 0.0;
  switch (model) {
    case ModelKind::GruAtt: c.evolution = Evolution::GruAtt; break;
    case ModelKind::DienAigru: c.evolution = Evolution::Aigru; break;
    case ModelKind::DienAgru: c.evolution = Evolution::Agru; break;
    default: c.evolution = Evolution::Augru; break;
  }
  return c;
}

// Every variant of docs/model.md §4-7 and §10 the parity test covers.
inline std::vector<std::pair<std::string, Config>> variants() {
  std::vector<std::pair<std::string, Config>> v;
  for (ModelKind m : {ModelKind::Base, ModelKind::WideDeep, ModelKind::Pnn, ModelKind::Din, ModelKind::GruAtt,
                      ModelKind::DienAigru, ModelKind::DienAgru, ModelKind::DienAugru, ModelKind::Dien})
    v.push_back({modelName(m), smallConfig(m)});
  for (Evolution e : {Evolution::Augru, Evolution::AugruOrig, Evolution::Agru, Evolution::Aigru, Evolution::GruAtt})
    for (GruCell cell : {GruCell::ResetAfter, GruCell::ResetBefore})
      for (AttentionKind a : {AttentionKind::Mlp, AttentionKind::Bilinear}) {
        Config c = smallConfig(ModelKind::Dien, e == Evolution::Aigru ? 32 : 36);
        c.evolution = e;
        c.gruCell = cell;
        c.attention = a;
        v.push_back({cat("dien/", evolutionName(e), cell == GruCell::ResetAfter ? "/reset-after" : "/reset-before",
                         a == AttentionKind::Mlp ? "/mlp" : "/bilinear"),
                     c});
      }
  for (Activation act : {Activation::Prelu, Activation::Relu}) {
    Config c = smallConfig(ModelKind::Dien, 108);
    c.activation = act;
    c.mlpBn = true;
    v.push_back({act == Activation::Prelu ? "dien/H108/prelu+bn" : "dien/H108/relu+bn", c});
  }
  {
    Config c = smallConfig(ModelKind::Dien, 32);
    c.userVocab = 0;
    c.dUser = 0;
    c.attentionHidden = {17};
    c.mlpHidden = {23, 9, 5};
    v.push_back({"dien/no-user/odd-layers", c});
  }
  {
    Config c = smallConfig(ModelKind::Pnn);
    c.userVocab = 0;
    c.dUser = 0;
    c.mlpBn = true;
    v.push_back({"pnn/no-user+bn", c});
  }
  {
    Config c = smallConfig(ModelKind::Din);
    c.attentionHidden = {};
    c.mlpHidden = {};
    v.push_back({"din/single-layer-scorer/no-hidden", c});
  }
  return v;
}

// An engine on random weights (every tensor random) for the given device.
inline std::shared_ptr<Engine> randomEngine(const Config& c, uint64_t seed, int threads = 2,
                                            const char* device = "cpu") {
  Weights w(c);
  randomizeWeights(w, seed);
  const std::vector<uint8_t> bytes = writeSafetensors(c, w);
  EngineOptions o;
  o.threads = threads;
  o.device = device;
  return Engine::fromSafetensors(bytes.data(), bytes.size(), o);
}

}  // namespace test
}  // namespace dien
