#!/usr/bin/env bash
# Opens pages of the built site in headless Chromium, offline, and checks that their formulas
# were typeset by the site's own MathJax (no raw TeX left in the visible text, no formula
# MathJax could not typeset) and that their images load. Writes a screenshot of each page, to look at.
#
#   docs/check_site.sh HTML_DIR OUT_DIR PAGE...      e.g. index.html ch05_student.html
#
# Exit 0 when every page passes; one line per page either way.
set -euo pipefail

html=$(realpath "$1"); out=$2; shift 2
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# Debian's chromium, headless, with every background network feature off and name resolution
# pointed nowhere: the pages must render from the files alone.
chrome=(chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
        --disable-component-update --disable-sync --user-data-dir="$profile"
        --host-resolver-rules="MAP * ~NOTFOUND" --virtual-time-budget=20000 --window-size=1200,2400)

failed=0
for page in "$@"; do
  name=${page%.html}
  file="$html/$page"
  if [[ ! -f "$file" ]]; then echo "FAIL $page: no such page in $html"; failed=1; continue; fi
  "${chrome[@]}" --dump-dom "file://$file" > "$out/$name.dom.html" 2> "$out/$name.log" || true
  "${chrome[@]}" --screenshot="$out/$name.png" "file://$file" >> "$out/$name.log" 2>&1 || true
  # The visible text: the DOM without scripts (MathJax keeps each formula's TeX in a script).
  visible=$(sed -e 's/<script[^>]*>[^<]*<\/script>//g' "$out/$name.dom.html")
  typeset=$(grep -o 'class="MathJax[_A-Za-z]*' "$out/$name.dom.html" | wc -l || true)
  raw=$(printf '%s' "$visible" | grep -c -F -e '\(' -e '\[' -e '\f$' -e '\f[' || true)
  # A formula MathJax could not typeset shows as an error box (e.g. an undefined macro).
  errors=$(grep -o -e 'class="merror"' -e 'Math Processing Error' "$out/$name.dom.html" | wc -l || true)
  images=$(grep -o '<img [^>]*src="[^"]*"' "$out/$name.dom.html" | sed 's/.*src="//; s/"$//' || true)
  missing=0
  for src in $images; do
    [[ "$src" == http* ]] && { echo "  $page: image from the network: $src"; missing=$((missing + 1)); continue; }
    [[ -f "$html/$src" ]] || { echo "  $page: image not found: $src"; missing=$((missing + 1)); }
  done
  count=$(printf '%s\n' $images | grep -c . || true)
  if [[ ! -s "$out/$name.dom.html" ]]; then
    echo "FAIL $page: chromium produced no DOM (see $out/$name.log)"; failed=1
  elif ((errors > 0)); then
    echo "FAIL $page: $errors formulas MathJax could not typeset:"
    { grep -o -e 'class="merror".\{0,300\}' "$out/$name.dom.html" || true; } | sed 's/<[^>]*>//g; s/^.*">//; s/^/    /' | sort -u
    failed=1
  elif ((raw > 0)); then
    echo "FAIL $page: $raw lines of raw TeX visible ($typeset typeset elements)"; failed=1
  elif ((missing > 0)); then
    echo "FAIL $page: $missing of $count images missing"; failed=1
  else
    echo "ok   $page: $typeset MathJax elements, no raw TeX, $count images present; screenshot $out/$name.png"
  fi
done
exit $failed
