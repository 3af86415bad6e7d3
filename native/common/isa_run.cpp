// dien_isa_run <level|best> <program> [args...]: runs <program>_<level>, or exits 77
// (what ctest counts as a skip) when this CPU lacks what the level's code uses. "best"
// runs the first level this CPU has. Compiled for the baseline, so that no level's code
// runs before the check; the native tests and benchmarks of every level go through it.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "isa.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: dien_isa_run <level|best> <program> [args...]\nlevels of this build:");
    for (int i = 0; i < dien_isa_level_count(); ++i) fprintf(stderr, " %s", dien_isa_level_name(i));
    fprintf(stderr, "\n");
    return 2;
  }
  const std::string want = argv[1];
  int chosen = -1;
  char missing[512];
  for (int i = 0; i < dien_isa_level_count(); ++i) {
    if (want != "best" && want != dien_isa_level_name(i)) continue;
    if (dien_isa_missing_of(dien_isa_level_built(i), missing, sizeof missing) == 0) {
      chosen = i;
      break;
    }
    if (want != "best") {
      printf("skipped: this CPU lacks what level %s uses (%s)\n", want.c_str(), missing);
      return 77;
    }
  }
  if (chosen < 0) {
    fprintf(
        stderr, "dien_isa_run: %s\n",
        want == "best" ? "this CPU runs none of this build's levels" : ("no level " + want + " in this build").c_str());
    return 2;
  }
  const std::string program = std::string(argv[2]) + "_" + dien_isa_level_name(chosen);
  std::vector<char*> args{const_cast<char*>(program.c_str())};
  for (int i = 3; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  fflush(stdout);
  execv(program.c_str(), args.data());
  fprintf(stderr, "dien_isa_run: could not run %s: %s\n", program.c_str(), strerror(errno));
  return 2;
}
