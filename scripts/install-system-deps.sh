#!/usr/bin/env bash
# What the test suite needs beyond Python packages: redis-server (the Redis store's tests
# start one) and docker-compose (validates deploy/docker-compose.yml; no Docker engine needed)
# from Debian, chromium from Debian (the browser tests drive it through Playwright; nothing
# is downloaded by Playwright), and KafkaJS from npm (a non-Python Kafka client for the interoperability
# test; Node.js from Debian if the machine has none), Apertium's translation pairs
# (scripts/install-apertium.sh). Installs only what is missing; Debian
# packages need root or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v node >/dev/null || missing+=(nodejs npm)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Apertium and its pairs: the translation tests check its real output.
bash scripts/install-apertium.sh

if [ ! -d tests/interop/node_modules/kafkajs ]; then
    echo "installing KafkaJS for the interoperability test"
    (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi
