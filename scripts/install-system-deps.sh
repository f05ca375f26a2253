#!/usr/bin/env bash
# Debian packages the test suite uses: redis-server (the Redis store's tests start one),
# kcat (a non-Python Kafka client for the interoperability test) and docker-compose (to
# validate deploy/docker-compose.yml; no Docker engine is needed). Installs only what is
# missing; needs root or sudo.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v kcat >/dev/null || missing+=(kcat)
command -v docker-compose >/dev/null || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
