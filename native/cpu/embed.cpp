#include "embed.h"

#include <algorithm>
#include <cstring>

namespace dien {

int embedRecords(const Config& c, const PackedWeights& pw, Workspace& ws, int n, const int32_t* const* items,
                 const int32_t* const* cats, const int* len) {
  const int E = c.embedWidth(), dI = c.dItem, dC = c.dCat;
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
      float* x = ws.X.data() + static_cast<size_t>(ws.recOff[j] + t) * E;
      std::memcpy(x, pw.itemEmb + static_cast<size_t>(items[j][t]) * dI, sizeof(float) * dI);
      std::memcpy(x + dI, pw.catEmb + static_cast<size_t>(cats[j][t]) * dC, sizeof(float) * dC);
      for (int k = 0; k < E; ++k) s[k] += x[k];
    }
  }
  return rows;
}

void embedTarget(const Config& c, const PackedWeights& pw, int32_t item, int32_t cat, float* dst) {
  std::memcpy(dst, pw.itemEmb + static_cast<size_t>(item) * c.dItem, sizeof(float) * c.dItem);
  std::memcpy(dst + c.dItem, pw.catEmb + static_cast<size_t>(cat) * c.dCat, sizeof(float) * c.dCat);
}

}  // namespace dien
