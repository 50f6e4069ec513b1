#!/usr/bin/env bash
# The whole test run: system deps (Docker engine, Chromium), build, lint, unit, integration and e2e tests.
# Runs through npm so the project's Node 24 is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-deps.sh
echo "==> node $(node --version)"
npm run build
npm run lint
npx vitest run --project unit
npx vitest run --project integration
npx vitest run --project e2e
