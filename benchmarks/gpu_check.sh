#!/usr/bin/env bash
# GPU readiness in one call of at most 8 minutes on a GPU machine: environment report, one
# short run per torch science in fp32, bf16 and bf16 + torch.compile (samples/s, MFU), and a
# 1-process NCCL DDP run. Prints a table and JSON; with $OUT set, writes $OUT/gpu_check.json.
# Each run's step_s (batch / samples per s) is the compute term of `dte scale --predict --step-s`.
# Usage (on the GPU machine, in the repository): bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --locked --quiet
json=${OUT:+$OUT/gpu_check.json}
exec timeout 470 uv run python benchmarks/gpu_check.py ${json:+--json "$json"} "$@"
