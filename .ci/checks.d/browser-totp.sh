#!/usr/bin/env bash
# Headless Chromium enrols an authenticator app on the account page and signs in with a code.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/browser-totp.sh target/debug/provider
