#!/usr/bin/env bash
# The linux-arm64 prebuilt, loaded by an arm64 Node: packs the package with the
# prebuilds/linux-arm64/ that scripts/arm64-check.sh leaves, installs the tarball into a
# fresh project (no install scripts: nothing is compiled), and runs
# scripts/fixture-parity.cjs there with Debian's arm64 Node under qemu-aarch64, which
# loads the CPU probe and the engine it picks through the package's own loader and scores
# every reference fixture within 1e-5 of float64.
#
# The arm64 Node comes from Debian's packages (nodejs:arm64 and the libraries it needs),
# unpacked into build-arm64/node-root with dpkg-deb, never installed: dpkg learns the
# arm64 architecture (dpkg --add-architecture, apt-get update) if it has not. Where that
# cannot be done (no apt, no root) the check says so and is skipped; DIEN_ARM64_NODE_ROOT
# names an unpacked root to use instead. Debian 12's Node is 18, older than the package's
# engines field asks; the addon needs Node-API 8 and the compiled library runs there.
# Used by .ci/run after scripts/arm64-check.sh; about 20 s once the root is unpacked.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

[ -f prebuilds/linux-arm64/dien-cpu.node ] || { echo "arm64-node-check: prebuilds/linux-arm64/ is missing; run scripts/arm64-check.sh first" >&2; exit 1; }
command -v qemu-aarch64 > /dev/null || { echo "arm64-node-check: qemu-aarch64 not found (apt-get install qemu-user)" >&2; exit 1; }

skip() {
  echo "arm64-node-check: SKIPPED: $1" >&2
  exit 0
}

node_root=${DIEN_ARM64_NODE_ROOT:-$root_dir/build-arm64/node-root}
if [ ! -x "$node_root/usr/bin/node" ]; then
  command -v apt-get > /dev/null || skip "no apt-get to fetch Debian's nodejs:arm64 (set DIEN_ARM64_NODE_ROOT)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    { $sudo dpkg --add-architecture arm64 && $sudo apt-get update > /dev/null; } || skip "dpkg could not add the arm64 architecture"
  fi
  # nodejs:arm64 and every package it depends on, arm64 libraries and arch-independent
  # parts (Node's externalised builtins live in node-* packages).
  closure() {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances nodejs:arm64 2> /dev/null |
      grep -E '^[a-z0-9]' | grep -E ':arm64$|^node-' | sort -u || true
  }
  packages=$(closure)
  [ -n "$packages" ] || { $sudo apt-get update > /dev/null 2>&1 && packages=$(closure); } || true
  [ -n "$packages" ] || skip "apt knows no nodejs:arm64"
  debs=$(mktemp -d)
  chmod 755 "$debs" # apt's download user writes there
  (cd "$debs" && apt-get download $packages > /dev/null 2>&1) || { rm -rf "$debs"; skip "apt-get download of nodejs:arm64 failed"; }
  rm -rf "$node_root.tmp" && mkdir -p "$node_root.tmp"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$node_root.tmp"; done
  rm -rf "$debs" "$node_root" && mv "$node_root.tmp" "$node_root"
fi
arm_node() { QEMU_LD_PREFIX="$node_root" qemu-aarch64 "$node_root/usr/bin/node" "$@"; }
echo "== arm64 Node: $(arm_node -p 'process.arch + " " + process.version + ", Node-API " + process.versions.napi')"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack --ignore-scripts --silent --pack-destination "$work" > "$work/name"
tarball="$work/$(tail -1 "$work/name")"
tar -tzf "$tarball" > "$work/files"
grep -qx 'package/prebuilds/linux-arm64/dien-cpu.node' "$work/files" || { echo "arm64-node-check: the tarball has no prebuilds/linux-arm64/" >&2; exit 1; }
mkdir "$work/consumer"
(cd "$work/consumer" && echo '{"name":"consumer","version":"1.0.0","private":true}' > package.json &&
  npm install "$tarball" --ignore-scripts --prefer-offline --no-audit --no-fund --silent)
[ ! -e "$work/consumer/node_modules/dien/build" ] || { echo "arm64-node-check: the package carries a build/ folder" >&2; exit 1; }

echo "== test/fixtures scored by the installed package under qemu-aarch64"
# Run from inside the project (a script in this checkout would resolve "dien" to the checkout itself).
cp scripts/fixture-parity.cjs "$work/consumer/"
(cd "$work/consumer" && arm_node fixture-parity.cjs "$root_dir/test/fixtures") | tee "$work/result"
grep -q '"arch":"arm64"' "$work/result" || { echo "arm64-node-check: no arm64 result" >&2; exit 1; }
