#!/usr/bin/env bash
# Builds the browser console (web/dist) that ivm embeds: npm packages from the registry,
# exactly as package-lock.json pins them.
set -euo pipefail
cd "$(dirname "$0")/../web"
npm ci --no-audit --no-fund
npm run build
