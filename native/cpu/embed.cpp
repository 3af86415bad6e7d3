#include "embed.h"

#include <algorithm>
#include <cstring>

namespace dien {

// How many history steps ahead the gather asks for its rows.
constexpr int kPrefetchAhead = 8;

int embedRecords(const Config& c, const PackedWeights& pw, Workspace& ws, int n, const int32_t* const* items,
                 const int32_t* const* cats, const int* len) {
  const int E = c.embedWidth(), dI = c.dItem;
  int rows = 0;
  for (int j = 0; j < n; ++j) {
    ws.recOff[j] = rows;
    ws.recLen[j] = len[j];
    ws.recCats[j] = cats[j];
    rows += len[j];
  }
  for (int j = 0; j < n; ++j) {
    float* s = ws.sRec.data() + static_cast<size_t>(j) * E;
    std::fill(s, s + E, 0.0f);
    for (int t = 0; t < len[j]; ++t) {
      if (t + kPrefetchAhead < len[j]) {
        pw.itemEmb.prefetch(items[j][t + kPrefetchAhead]);
        pw.catEmb.prefetch(cats[j][t + kPrefetchAhead]);
      }
      float* x = ws.X.data() + static_cast<size_t>(ws.recOff[j] + t) * E;
      pw.itemEmb.row(items[j][t], x);
      pw.catEmb.row(cats[j][t], x + dI);
      for (int k = 0; k < E; ++k) s[k] += x[k];
    }
  }
  return rows;
}

void embedTarget(const Config& c, const PackedWeights& pw, int32_t item, int32_t cat, float* dst) {
  pw.itemEmb.row(item, dst);
  pw.catEmb.row(cat, dst + c.dItem);
}

}  // namespace dien
