#include "embed.h"

#include <algorithm>
#include <cstring>

namespace dien {

// How many rows ahead the gather asks for its rows: the tile's histories are one stream,
// so the last rows of one history prefetch the first of the next.
constexpr int kPrefetchAhead = 16;

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
  // The row kPrefetchAhead ahead of the one being copied: history pj, step pt.
  int pj = 0, pt = 0;
  auto advance = [&] {
    if (++pt < len[pj]) return;
    pt = 0;
    do ++pj;
    while (pj < n && len[pj] == 0);
  };
  while (pj < n && len[pj] == 0) ++pj;
  for (int a = 0; a < kPrefetchAhead && pj < n; ++a) advance();
  for (int j = 0; j < n; ++j) {
    float* s = ws.sRec.data() + static_cast<size_t>(j) * E;
    std::fill(s, s + E, 0.0f);
    for (int t = 0; t < len[j]; ++t) {
      if (pj < n) {
        pw.itemEmb.prefetch(items[pj][pt]);
        pw.catEmb.prefetch(cats[pj][pt]);
        advance();
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
