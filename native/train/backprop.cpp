#include "backprop.h"

#include <algorithm>
#include <cmath>

#include "../ops/gate_grads.h"
#include "head_pass.h"
#include "net.h"
#include "sample_pass.h"

namespace dien {
namespace train {

namespace {
// Gradient buffers per chunk of samples: a fixed count, so the summation order (and the
// result) does not depend on how many threads run the chunks.
constexpr int kMaxChunks = 16;
}  // namespace

template <class S>
struct Backprop<S>::State {
  Config c;
  const Weights* layout;
  GradLayout gl;
  ThreadPool* pool;
  std::vector<std::unique_ptr<SampleWork<S>>> work;  // one per worker
  HeadWork<S> head;
  std::vector<std::vector<S>> chunkGrads;
  std::vector<S> x, dx, dHist, dNeg, dTarget, dUser, dLogit;
  std::vector<double> auxPer;
  std::vector<int> tableOf;                // spec index -> position in out.tables, or -1
  std::vector<std::vector<int32_t>> slot;  // per table: row -> position in its rows, or -1

  State(const Config& cfg, const Weights& w, ThreadPool* p) : c(cfg), layout(&w), gl(w), pool(p) {}

  template <class Fn>
  void parallel(int tasks, Fn&& fn) {
    if (pool && pool->size() > 1 && tasks > 1) {
      pool->run(tasks, [&](int task, int worker) { fn(task, worker); });
    } else {
      for (int t = 0; t < tasks; ++t) fn(t, 0);
    }
  }
};

template <class S>
Backprop<S>::Backprop(const Config& c, const Weights& layout, ThreadPool* pool) : s_(new State(c, layout, pool)) {}

template <class S>
Backprop<S>::~Backprop() = default;

template <class S>
const GradLayout& Backprop<S>::gradLayout() const {
  return s_->gl;
}

template <class S>
void Backprop<S>::run(const Params<S>& params, const TrainBatchView& tb, PassResult<S>& out) {
  State& st = *s_;
  const Config& c = st.c;
  const BatchView& b = tb.base;
  const int B = static_cast<int>(b.batch), T = static_cast<int>(b.steps);
  const Net<S> net(c, params, st.gl);
  const int E = net.E, D = net.D, dU = c.dUser;
  const int workers = st.pool ? st.pool->size() : 1;
  while (static_cast<int>(st.work.size()) < workers) st.work.push_back(std::make_unique<SampleWork<S>>(net, T));
  const int chunks = std::min(B, kMaxChunks);
  auto chunkBegin = [&](int k) { return static_cast<int>(static_cast<int64_t>(B) * k / chunks); };
  auto input = [&](int i) {
    SampleInput in;
    in.L = b.histLen[i];
    in.histItem = b.histItem + static_cast<size_t>(i) * T;
    in.histCat = b.histCat + static_cast<size_t>(i) * T;
    if (tb.negItem) {
      in.negItem = tb.negItem + static_cast<size_t>(i) * T;
      in.negCat = tb.negCat + static_cast<size_t>(i) * T;
    }
    in.targetItem = b.targetItem[i];
    in.targetCat = b.targetCat[i];
    in.user = b.user ? b.user[i] : -1;
    return in;
  };

  // 1. Every sample's output-network input row.
  st.x.resize(static_cast<size_t>(B) * D);
  st.parallel(chunks, [&](int k, int worker) {
    for (int i = chunkBegin(k); i < chunkBegin(k + 1); ++i)
      sampleForward(net, input(i), *st.work[worker], st.x.data() + static_cast<size_t>(i) * D);
  });

  // 2. The output network over the batch, the wide part and the BCE.
  out.dense.assign(static_cast<size_t>(st.gl.size), S(0));
  out.logits.resize(B);
  st.head.reserve(net, B);
  headForward(net, B, st.x.data(), st.head, out.logits.data());
  std::vector<int> hits;
  if (c.model == ModelKind::WideDeep) {
    hits.assign(B, 0);
    for (int i = 0; i < B; ++i) {
      for (int t = 0; t < b.histLen[i]; ++t) hits[i] += b.histCat[static_cast<size_t>(i) * T + t] == b.targetCat[i];
      out.logits[i] += net.wideItem[b.targetItem[i]] + net.wideCat[b.targetCat[i]] +
                       net.wideCross[b.targetCat[i]] * static_cast<S>(hits[i]);
      if (net.wideUser) out.logits[i] += net.wideUser[b.user[i]];
    }
  }
  st.dLogit.resize(B);
  double bce = 0, hint = 0;
  const bool hinted = tb.hint != nullptr;  // the hint loss is reported even at weight 0
  // d/dl of λ·mean_b (l_b − hint_b)²; the hint is a constant: nothing flows back to its net.
  const S hintScale = static_cast<S>(2 * tb.hintWeight / B);
  for (int i = 0; i < B; ++i) {
    const double l = static_cast<double>(out.logits[i]), y = tb.label[i];
    bce += softplus(l) - y * l;
    st.dLogit[i] = (Act<S>::sigmoid(out.logits[i]) - static_cast<S>(tb.label[i])) / static_cast<S>(B);
    if (hinted) {
      const S diff = out.logits[i] - static_cast<S>(tb.hint[i]);
      hint += static_cast<double>(diff) * static_cast<double>(diff);
      st.dLogit[i] += hintScale * diff;
    }
  }
  out.bceLoss = bce / B;
  out.hintLoss = hint / B;
  st.dx.resize(static_cast<size_t>(B) * D);
  headBackward(net, B, st.head, st.dLogit.data(), out.dense.data(), st.dx.data());

  // 3. Every sample's backward (its forward again: cheaper than keeping B histories of
  //    activations), with the aux loss of its pairs.
  int64_t pairs = 0;
  for (int i = 0; i < B; ++i) pairs += std::max(b.histLen[i] - 1, 0);
  const bool aux = net.auxOn && tb.negItem;
  const S auxScale = aux && pairs > 0 ? static_cast<S>(c.auxAlpha / static_cast<double>(pairs)) : S(0);
  const size_t rowsBT = static_cast<size_t>(B) * T;
  st.dHist.resize(rowsBT * E);
  st.dNeg.resize(aux ? rowsBT * E : 0);
  st.dTarget.resize(static_cast<size_t>(B) * E);
  st.dUser.resize(static_cast<size_t>(B) * std::max(dU, 1));
  st.auxPer.assign(B, 0.0);
  st.chunkGrads.resize(chunks);
  st.parallel(chunks, [&](int k, int worker) {
    std::vector<S>& g = st.chunkGrads[k];
    g.assign(static_cast<size_t>(st.gl.size), S(0));
    SampleWork<S>& w = *st.work[worker];
    for (int i = chunkBegin(k); i < chunkBegin(k + 1); ++i) {
      const SampleInput in = input(i);
      sampleForward(net, in, w, st.x.data() + static_cast<size_t>(i) * D);
      SampleEmbeddingGrads<S> eg;
      eg.hist = st.dHist.data() + static_cast<size_t>(i) * T * E;
      eg.neg = aux ? st.dNeg.data() + static_cast<size_t>(i) * T * E : nullptr;
      eg.target = st.dTarget.data() + static_cast<size_t>(i) * E;
      eg.user = st.dUser.data() + static_cast<size_t>(i) * std::max(dU, 1);
      st.auxPer[i] = sampleBackward(net, in, w, st.dx.data() + static_cast<size_t>(i) * D, auxScale, g.data(), eg);
    }
  });
  for (int k = 0; k < chunks; ++k) {
    const S* g = st.chunkGrads[k].data();
    S* d = out.dense.data();
    const size_t n = out.dense.size();
#pragma omp simd
    for (size_t j = 0; j < n; ++j) d[j] += g[j];
  }
  double auxSum = 0;
  for (int i = 0; i < B; ++i) auxSum += st.auxPer[i];
  out.auxLoss = aux && pairs > 0 ? auxSum / static_cast<double>(pairs) : 0.0;
  out.loss = out.bceLoss + (aux ? c.auxAlpha * out.auxLoss : 0.0) + tb.hintWeight * out.hintLoss;

  // 4. Table rows, scattered in sample order.
  const std::vector<TensorSpec>& specs = st.layout->specs();
  if (st.tableOf.empty()) {
    st.tableOf.assign(specs.size(), -1);
    for (size_t i = 0; i < specs.size(); ++i)
      if (isTable(specs[i].kind)) {
        st.tableOf[i] = static_cast<int>(st.slot.size());
        st.slot.emplace_back(static_cast<size_t>(specs[i].shape[0]), -1);
      }
  }
  // Reused between calls: a step's table rows are gathered without reallocating.
  out.tables.resize(st.slot.size());
  for (size_t i = 0, t = 0; i < specs.size(); ++i)
    if (st.tableOf[i] >= 0) {
      TableGrad<S>& g = out.tables[t++];
      g.kind = specs[i].kind;
      g.width = static_cast<int>(specs[i].shape[1]);
      g.rows.clear();
      g.values.clear();
    }
  auto tableIndex = [&](TensorKind k) { return st.tableOf[st.layout->indexOf(k, 0)]; };
  auto add = [&](int table, int32_t row, const S* g) {
    TableGrad<S>& t = out.tables[table];
    int32_t& slot = st.slot[table][row];
    if (slot < 0) {  // set only once the row and its values exist (an allocation may throw)
      t.values.resize(t.values.size() + t.width, S(0));
      t.rows.push_back(row);
      slot = static_cast<int32_t>(t.rows.size() - 1);
    }
    S* v = t.values.data() + static_cast<size_t>(slot) * t.width;
    for (int j = 0; j < t.width; ++j) v[j] += g[j];
  };
  const int item = tableIndex(TensorKind::ItemEmbedding), cat = tableIndex(TensorKind::CatEmbedding);
  const int user = c.hasUser() ? tableIndex(TensorKind::UserEmbedding) : -1;
  auto resetSlots = [&] {
    for (size_t t = 0; t < out.tables.size(); ++t)
      for (const int32_t row : out.tables[t].rows) st.slot[t][row] = -1;
  };
  try {
    for (int i = 0; i < B; ++i) {
      const int L = b.histLen[i];
      for (int t = 0; t < L; ++t) {
        const size_t r = static_cast<size_t>(i) * T + t;
        const S* g = st.dHist.data() + r * E;
        add(item, b.histItem[r], g);
        add(cat, b.histCat[r], g + c.dItem);
        if (aux && t > 0) {
          add(item, tb.negItem[r], st.dNeg.data() + r * E);
          add(cat, tb.negCat[r], st.dNeg.data() + r * E + c.dItem);
        }
      }
      const S* g = st.dTarget.data() + static_cast<size_t>(i) * E;
      add(item, b.targetItem[i], g);
      add(cat, b.targetCat[i], g + c.dItem);
      if (user >= 0) add(user, b.user[i], st.dUser.data() + static_cast<size_t>(i) * dU);
      if (c.model == ModelKind::WideDeep) {
        const S dl = st.dLogit[i], dCross = dl * static_cast<S>(hits[i]);
        add(tableIndex(TensorKind::WideItem), b.targetItem[i], &dl);
        add(tableIndex(TensorKind::WideCat), b.targetCat[i], &dl);
        add(tableIndex(TensorKind::WideCross), b.targetCat[i], &dCross);
        if (c.hasUser()) add(tableIndex(TensorKind::WideUser), b.user[i], &dl);
      }
    }
  } catch (...) {
    resetSlots();  // an allocation failed: the next pass starts from clean slots
    throw;
  }
  resetSlots();

  // 5. Batch statistics for the running-statistics update of a training step.
  out.stats.clear();
  if (c.mlpBn)
    out.stats.push_back({TensorKind::BnRunningMean, TensorKind::BnRunningVar, 0, st.head.bnMean, st.head.bnVar});
  if (c.activation == Activation::Dice)
    for (size_t l = 0; l + 1 < net.mlp.size(); ++l)
      out.stats.push_back({TensorKind::DiceRunningMean, TensorKind::DiceRunningVar, static_cast<int>(l),
                           st.head.mean[l], st.head.var[l]});
}

template <class S>
std::vector<std::vector<S>> denseGradients(const GradLayout& gl, const PassResult<S>& r) {
  const std::vector<TensorSpec>& specs = gl.layout->specs();
  std::vector<std::vector<S>> out(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!isTrainable(specs[i].kind)) continue;
    const size_t n = static_cast<size_t>(specs[i].numel());
    if (gl.offset[i] >= 0) {
      out[i].assign(r.dense.begin() + gl.offset[i], r.dense.begin() + gl.offset[i] + static_cast<std::ptrdiff_t>(n));
      continue;
    }
    out[i].assign(n, S(0));
    for (const TableGrad<S>& t : r.tables) {
      if (t.kind != specs[i].kind) continue;
      for (size_t k = 0; k < t.rows.size(); ++k)
        std::copy(t.values.begin() + static_cast<std::ptrdiff_t>(k * t.width),
                  t.values.begin() + static_cast<std::ptrdiff_t>((k + 1) * t.width),
                  out[i].begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(t.rows[k]) * t.width));
    }
  }
  return out;
}

template std::vector<std::vector<float>> denseGradients(const GradLayout&, const PassResult<float>&);
template std::vector<std::vector<double>> denseGradients(const GradLayout&, const PassResult<double>&);
template class Backprop<float>;
template class Backprop<double>;

}  // namespace train
}  // namespace dien
