#!/usr/bin/env bash
# Builds the solution and runs every test project (xunit.v3 on Microsoft.Testing.Platform).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build GraphPipe.slnx -c Release -warnaserror -nologo -v:q
dotnet test --solution GraphPipe.slnx -c Release --no-build "$@"
