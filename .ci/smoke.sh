#!/usr/bin/env bash
# Quick-start smoke test against a running server: $1 = base URL, $2 = its log file.
set -euo pipefail
base="$1"
curl -sf "$base/health" >/dev/null
curl -sf "$base/docs-json" | grep -q '"openapi"'
echo "smoke: /health and /docs-json answer"
