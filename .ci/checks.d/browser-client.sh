#!/usr/bin/env bash
# Headless Chromium signs in through the demo client and the provider's real login page and
# screenshots the flow timeline (target/browser-check/timeline.png).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/browser-check.sh target/debug/provider target/debug/resource target/debug/client
