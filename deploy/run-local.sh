#!/usr/bin/env bash
# Runs the Classy stages as separate processes on loopback, with the ports classy uses by default:
#   9000 model (demo classifier with labels)   9001 preprocessor          9002 downloader
#   9011 preprocessor --next model              9012 downloader --next 9011
# Then:  dotnet run --project samples/Classy -- --via server tests/assets/images/fashion/*.png
# Stop with Ctrl+C (all stages stop).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/GraphPipe.Cli -c Release -nologo -v:q
gp() { dotnet src/GraphPipe.Cli/bin/Release/net10.0/graphpipe.dll "$@"; }
trap 'kill 0' EXIT INT TERM
# Loopback stages forward to each other, so the SSRF policy must allow private addresses here.
local_net=(--allow-private-networks)
gp serve onnx --demo --listen 127.0.0.1:9000 &
sleep 5 # the first start assembles the demo model
gp serve preprocess --profile resnet18 --listen 127.0.0.1:9001 "${local_net[@]}" &
gp serve download --listen 127.0.0.1:9002 "${local_net[@]}" &
gp serve preprocess --profile resnet18 --listen 127.0.0.1:9011 --next http://127.0.0.1:9000 &
gp serve download --listen 127.0.0.1:9012 --next http://127.0.0.1:9011 "${local_net[@]}" &
wait
