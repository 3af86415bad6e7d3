#include "reference.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace dien {

namespace {

using Vec = std::vector<double>;

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// y = W x + b with W [out, in] row-major.
Vec linear(const float* W, const float* bias, const Vec& x, int out) {
  const int in = static_cast<int>(x.size());
  Vec y(out);
  for (int o = 0; o < out; ++o) {
    double s = bias ? bias[o] : 0.0;
    for (int i = 0; i < in; ++i) s += static_cast<double>(W[static_cast<size_t>(o) * in + i]) * x[i];
    y[o] = s;
  }
  return y;
}

Vec concat(std::initializer_list<const Vec*> parts) {
  Vec out;
  for (const Vec* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// The float64 reference names tensors as a weight file does, independently of the
// engine's tensor table (model/tensors.cpp), so that the two check each other.
const float* tensor(const Weights& w, const std::string& name) {
  const float* p = w.find(name);
  if (!p) throw std::logic_error("reference: no tensor " + name);
  return p;
}

Vec row(const float* table, int64_t id, int width) {
  Vec v(width);
  for (int k = 0; k < width; ++k) v[k] = table[static_cast<size_t>(id) * width + k];
  return v;
}

struct Gru {
  const float *wih, *whh, *bih, *bhh;
  int H;
  GruCell cell;
  // One step; a is the attention weight, scale multiplies the input (aigru).
  Vec step(const Vec& x, const Vec& h, Evolution mix, double a) const {
    const Vec gi = linear(wih, bih, x, 3 * H);
    Vec out(H);
    if (cell == GruCell::ResetAfter) {
      const Vec gh = linear(whh, bhh, h, 3 * H);
      for (int c = 0; c < H; ++c) {
        const double r = sig(gi[c] + gh[c]), z = sig(gi[H + c] + gh[H + c]);
        const double n = std::tanh(gi[2 * H + c] + r * gh[2 * H + c]);
        out[c] = mixState(mix, a, z, n, h[c]);
      }
    } else {
      const Vec ghrz = linear(whh, bhh, h, 2 * H);
      Vec rh(H);
      for (int c = 0; c < H; ++c) rh[c] = sig(gi[c] + ghrz[c]) * h[c];
      const Vec ghn = linear(whh + static_cast<size_t>(2) * H * H, bhh + 2 * H, rh, H);
      for (int c = 0; c < H; ++c) {
        const double z = sig(gi[H + c] + ghrz[H + c]);
        const double n = std::tanh(gi[2 * H + c] + ghn[c]);
        out[c] = mixState(mix, a, z, n, h[c]);
      }
    }
    return out;
  }
  static double mixState(Evolution mix, double a, double z, double n, double h) {
    switch (mix) {
      case Evolution::Augru: {
        const double u = a * (1 - z);
        return (1 - u) * h + u * n;
      }
      case Evolution::AugruOrig: {
        const double zz = (1 - a) * z;
        return zz * h + (1 - zz) * n;
      }
      case Evolution::Agru: return (1 - a) * h + a * n;
      default: return (1 - z) * n + z * h;
    }
  }
};

// Scores of the mlp scorer over [q, k, q - k, q * k] for every key.
Vec mlpScores(const Weights& w, const std::string& prefix, const std::vector<int>& hidden, const Vec& q,
              const std::vector<Vec>& keys) {
  Vec s;
  for (const Vec& k : keys) {
    Vec diff(k.size()), prod(k.size());
    for (size_t i = 0; i < k.size(); ++i) {
      diff[i] = q[i] - k[i];
      prod[i] = q[i] * k[i];
    }
    Vec x = concat({&q, &k, &diff, &prod});
    for (size_t l = 0; l <= hidden.size(); ++l) {
      const int out = l < hidden.size() ? hidden[l] : 1;
      x = linear(tensor(w, prefix + std::to_string(l) + ".weight"), tensor(w, prefix + std::to_string(l) + ".bias"), x,
                 out);
      if (l < hidden.size())
        for (double& v : x) v = sig(v);
    }
    s.push_back(x[0]);
  }
  return s;
}

Vec softmax(const Vec& s) {
  Vec a(s.size());
  if (s.empty()) return a;
  double mx = s[0];
  for (double v : s) mx = std::max(mx, v);
  double sum = 0;
  for (size_t i = 0; i < s.size(); ++i) sum += a[i] = std::exp(s[i] - mx);
  for (double& v : a) v /= sum;
  return a;
}

}  // namespace

std::vector<double> referenceForward(const Config& c, const Weights& w, const BatchView& b, bool logits) {
  const int E = c.embedWidth(), H = c.hidden;
  std::vector<double> result;
  for (int64_t i = 0; i < b.batch; ++i) {
    const int L = b.histLen[i];
    const Vec ti = row(tensor(w, "embedding.item.weight"), b.targetItem[i], c.dItem);
    const Vec tc = row(tensor(w, "embedding.cat.weight"), b.targetCat[i], c.dCat);
    const Vec ea = concat({&ti, &tc});
    std::vector<Vec> e;
    Vec s(E, 0.0);
    for (int t = 0; t < L; ++t) {
      const Vec hi = row(tensor(w, "embedding.item.weight"), b.histItem[i * b.steps + t], c.dItem);
      const Vec hc = row(tensor(w, "embedding.cat.weight"), b.histCat[i * b.steps + t], c.dCat);
      e.push_back(concat({&hi, &hc}));
      for (int k = 0; k < E; ++k) s[k] += e.back()[k];
    }
    Vec user;
    if (c.hasUser()) user = row(tensor(w, "embedding.user.weight"), b.user[i], c.dUser);
    Vec interest;
    if (c.hasGru()) {
      const Gru ext{tensor(w, "extractor.weight_ih_l0"),
                    tensor(w, "extractor.weight_hh_l0"),
                    tensor(w, "extractor.bias_ih_l0"),
                    tensor(w, "extractor.bias_hh_l0"),
                    H,
                    c.gruCell};
      const Gru evo{tensor(w, "evolution.weight_ih"),
                    tensor(w, "evolution.weight_hh"),
                    tensor(w, "evolution.bias_ih"),
                    tensor(w, "evolution.bias_hh"),
                    H,
                    c.gruCell};
      std::vector<Vec> hs;
      Vec h(H, 0.0);
      for (int t = 0; t < L; ++t) hs.push_back(h = ext.step(e[t], h, Evolution::GruAtt, 0));
      auto attend = [&](const std::vector<Vec>& keys) {
        Vec scores;
        if (c.attention == AttentionKind::Bilinear) {
          const Vec v = linear(tensor(w, "attention.W"), nullptr, ea, H);
          for (const Vec& k : keys) {
            double d = 0;
            for (int j = 0; j < H; ++j) d += k[j] * v[j];
            scores.push_back(d);
          }
        } else {
          Vec q = linear(tensor(w, "attention.query.weight"), tensor(w, "attention.query.bias"), ea, H);
          const float* slope = tensor(w, "attention.query_prelu.weight");
          for (int j = 0; j < H; ++j) q[j] = q[j] >= 0 ? q[j] : slope[j] * q[j];
          scores = mlpScores(w, "attention.mlp.", c.attentionHidden, q, keys);
        }
        return softmax(scores);
      };
      interest.assign(H, 0.0);
      if (c.evolution == Evolution::GruAtt) {
        std::vector<Vec> h2;
        Vec g(H, 0.0);
        for (int t = 0; t < L; ++t) h2.push_back(g = evo.step(hs[t], g, Evolution::GruAtt, 0));
        const Vec a = attend(h2);
        for (int t = 0; t < L; ++t)
          for (int j = 0; j < H; ++j) interest[j] += a[t] * h2[t][j];
      } else {
        const Vec a = attend(hs);
        Vec g(H, 0.0);
        for (int t = 0; t < L; ++t) {
          if (c.evolution == Evolution::Aigru) {
            Vec x = hs[t];
            for (double& v : x) v *= a[t];
            g = evo.step(x, g, Evolution::GruAtt, 0);
          } else {
            g = evo.step(hs[t], g, c.evolution, a[t]);
          }
        }
        interest = g;
      }
    } else if (c.model == ModelKind::Din) {
      const Vec a = softmax(mlpScores(w, "din.mlp.", c.attentionHidden, ea, e));
      interest.assign(E, 0.0);
      for (int t = 0; t < L; ++t)
        for (int j = 0; j < E; ++j) interest[j] += a[t] * e[t][j];
    } else if (c.model == ModelKind::Pnn) {
      std::vector<Vec> f;
      if (c.hasUser()) f.push_back(user);
      f.push_back(Vec(ea.begin(), ea.begin() + c.dItem));
      f.push_back(Vec(ea.begin() + c.dItem, ea.end()));
      f.push_back(Vec(s.begin(), s.begin() + c.dItem));
      f.push_back(Vec(s.begin() + c.dItem, s.end()));
      for (size_t p = 0; p < f.size(); ++p)
        for (size_t q = p + 1; q < f.size(); ++q) {
          double d = 0;
          for (int k = 0; k < c.dItem; ++k) d += f[p][k] * f[q][k];
          interest.push_back(d);
        }
    }
    Vec prodEs(E);
    for (int k = 0; k < E; ++k) prodEs[k] = ea[k] * s[k];
    Vec x = concat({&user, &ea, &s, &prodEs, &interest});
    if (c.mlpBn) {
      const float *g = tensor(w, "mlp.bn.weight"), *bb = tensor(w, "mlp.bn.bias"),
                  *m = tensor(w, "mlp.bn.running_mean"), *v = tensor(w, "mlp.bn.running_var");
      for (size_t k = 0; k < x.size(); ++k) x[k] = g[k] * (x[k] - m[k]) / std::sqrt(v[k] + c.bnEps) + bb[k];
    }
    for (size_t l = 0; l < c.mlpHidden.size(); ++l) {
      const std::string p = "mlp.layers." + std::to_string(l);
      x = linear(tensor(w, p + ".weight"), tensor(w, p + ".bias"), x, c.mlpHidden[l]);
      const std::string a = "mlp.act." + std::to_string(l);
      for (size_t k = 0; k < x.size(); ++k) {
        if (c.activation == Activation::Dice) {
          const double pp =
              sig((x[k] - tensor(w, a + ".running_mean")[k]) / std::sqrt(tensor(w, a + ".running_var")[k] + c.diceEps));
          x[k] = pp * x[k] + (1 - pp) * tensor(w, a + ".alpha")[k] * x[k];
        } else if (c.activation == Activation::Prelu) {
          x[k] = x[k] >= 0 ? x[k] : tensor(w, a + ".weight")[k] * x[k];
        } else {
          x[k] = std::max(x[k], 0.0);
        }
      }
    }
    double logit = linear(tensor(w, "mlp.out.weight"), tensor(w, "mlp.out.bias"), x, 1)[0];
    if (c.model == ModelKind::WideDeep) {
      int hits = 0;
      for (int t = 0; t < L; ++t) hits += b.histCat[i * b.steps + t] == b.targetCat[i];
      logit += static_cast<double>(tensor(w, "wide.item.weight")[b.targetItem[i]]) +
               static_cast<double>(tensor(w, "wide.cat.weight")[b.targetCat[i]]) +
               static_cast<double>(tensor(w, "wide.cross.weight")[b.targetCat[i]]) * hits;
      if (c.hasUser()) logit += tensor(w, "wide.user.weight")[b.user[i]];
    }
    result.push_back(logits ? logit : sig(logit));
  }
  return result;
}

}  // namespace dien
