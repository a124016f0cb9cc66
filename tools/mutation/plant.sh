#!/usr/bin/env bash
# Plants each bug of issue 13's table in a scratch copy of the repository, builds, runs the tests that might
# catch it, and prints which fail; the copy is reverted after each bug. Usage (from the repository root):
#   tools/mutation/plant.sh [SCRATCH_DIR] [BUG...]      bugs: ssrf queue rows vector std topk overflow
# UNIT_ONLY=1 runs only the unit tests (where the bug has unit-level tests; much faster to build).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=${1:-/tmp/graphpipe-plant}
shift || true
bugs=("$@")
[ ${#bugs[@]} -eq 0 ] && bugs=(ssrf queue rows vector std topk overflow)
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

mkdir -p "$scratch"
# Source only; the scratch copy keeps its own bin/obj between runs, so rebuilds are incremental.
tar -C "$root" --exclude=bin --exclude=obj --exclude=StrykerOutput --exclude=.git -cf - . | tar -C "$scratch" -xf -
cd "$scratch"

# bug -> file | exact original text | planted text | unit test filter | functional test classes
plant() {
  case "$1" in
    ssrf) echo "src/GraphPipe.Client/Pipelines/NetworkPolicy.cs|            address = address.MapToIPv4();|            // mapping removed|*NetworkPolicyTests|*DownloaderStageTests *DownloaderServingTests" ;;
    queue) echo "src/GraphPipe.Server/Serving/ServedStage.cs|            QueueLimit = options.MaxQueuedRequests,|            QueueLimit = 0,|*RejectionLogTests|*ServingHostTests *ServerBehaviourTests *FrontDoorBoundsTests" ;;
    rows) echo "src/GraphPipe.Onnx/OnnxModelStage.cs|var rowBytes = request.Inputs[i].Data.Length / rows;|var rowBytes = request.Inputs[0].Data.Length / rows;|*OnnxModelStageRowTests|*FixedBatchServingTests *OnnxServingTests" ;;
    vector) echo "src/GraphPipe.Protocol/Wire/FlatBufferReader.cs|if (bytes > (ulong)(Buffer.Length - vec - 4))|if (bytes > (ulong)(Buffer.Length - vec))|*|*ServerFuzzTests *ErrorPathTests *FrontDoorBoundsTests" ;;
    std) echo "src/GraphPipe.Imaging/ImagePreprocessor.cs|var a1 = profile.Scale / profile.Std[1];|var a1 = profile.Scale / profile.Std[0];|*ImageResampleTests|*Preprocess* *CliEndToEndTests" ;;
    topk) echo "src/GraphPipe.Pipeline/TopKLabels/TopKLabelsStage.cs|if (filled == _k \&\& v <= row[best[_k - 1]])|if (filled == _k \&\& v <= row[best[0]])|*|*ClassyPipelineTests *OnnxServingTests" ;;
    overflow) echo "src/GraphPipe.Protocol/Wire/GraphPipeReader.cs|var expected = (UInt128)(ulong)count * (uint)type.ElementSize();|var expected = unchecked((ulong)count * (ulong)type.ElementSize());|*|*ServerFuzzTests *ErrorPathTests *FrontDoorBoundsTests" ;;
  esac
}

for bug in "${bugs[@]}"; do
  IFS='|' read -r file from to unit functional <<<"$(plant "$bug")"
  cp "$file" "$file.orig"
  python3 - "$file" "$from" "$to" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2].replace('\\&', '&'), sys.argv[3].replace('\\&', '&')
text = open(path).read()
assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
open(path, 'w').write(text.replace(old, new))
PY
  echo "== $bug: $file"
  start=$(date +%s)
  if [ "$unit" != "-" ]; then
    dotnet build tests/GraphPipe.UnitTests -c Release -nologo -v:q >/tmp/plant-build.log 2>&1 || { echo "build failed"; tail -5 /tmp/plant-build.log; }
    args=(); [ "$unit" != "*" ] && args=(-class "$unit")
    tests/GraphPipe.UnitTests/bin/Release/net10.0/GraphPipe.UnitTests "${args[@]}" -noColor 2>&1 | grep -E '\[FAIL\]|Total:' | sed 's/^ */  unit: /'
  fi
  if [ "${UNIT_ONLY:-}" != "1" ] || [ "$unit" = "-" ]; then
    dotnet build tests/GraphPipe.FunctionalTests -c Release -nologo -v:q >/tmp/plant-build.log 2>&1 || { echo "build failed"; tail -5 /tmp/plant-build.log; }
    args=(); for c in $functional; do args+=(-class "$c"); done
    tests/GraphPipe.FunctionalTests/bin/Release/net10.0/GraphPipe.FunctionalTests "${args[@]}" -noColor 2>&1 | grep -E '\[FAIL\]|Total:' | sed 's/^ */  functional: /'
  fi
  mv "$file.orig" "$file"
  touch "$file"   # newer than the planted build, so the next build recompiles it
  echo "   ($(( $(date +%s) - start )) s)"
done
