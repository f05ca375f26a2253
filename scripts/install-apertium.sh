#!/usr/bin/env bash
# Apertium (Debian's rule-based machine translation) and its pairs between EU languages, so that
# translations work out of the box. Installs what is missing when the machine allows it (root,
# or sudo without a password, and apt); otherwise says in one line how to, and exits 0: the
# product runs without translations.
set -euo pipefail

pairs=(apertium apertium-eng-spa apertium-fr-es apertium-es-pt apertium-es-ro apertium-spa-ita
       apertium-eng-cat apertium-spa-cat apertium-hbs-eng apertium-hbs-slv apertium-swe-dan
       apertium-mkd-bul)
missing=()
for package in "${pairs[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
fi
if [ "$sudo" = "none" ] || ! command -v apt-get >/dev/null; then
    echo "translations: no Apertium pairs; install them with: sudo apt-get install ${missing[*]}"
    exit 0
fi
echo "installing Apertium translation pairs: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { $sudo apt-get update -qq && \
         $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; }; then
    echo "translations: could not install Apertium; try: sudo apt-get install ${missing[*]}"
fi
