#!/usr/bin/env bash
# Reproducible build check: building the same commit twice must give the same jar bytes.
# Takes the jars already in target/ (CI runs it after `mvn verify`) as the first build, then
# builds again from scratch (target/ removed, so every class is compiled anew, later, with other
# file times) and compares every jar: a compiler or plugin that embeds a time, a path or an
# unstable order, or a jar that records file times instead of project.build.outputTimestamp, is
# caught. Builds first if there is no jar yet.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "reproducible: $*" >&2; exit 1; }
MVN=(mvn -B -ntp -q -DskipTests)
# Offline first (the machine usually has everything), online if that fails.
package() { "${MVN[@]}" -o package 2>/dev/null || "${MVN[@]}" package; }

jars=(target/sagegate.jar target/original-sagegate.jar target/sagegate-guard.jar)
if [[ ! -f target/sagegate.jar ]]; then
  package || fail "the first build failed"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for j in "${jars[@]}"; do
  [[ -f $j ]] || fail "$j is missing after the build"
  cp "$j" "$work/first-$(basename "$j")"
done

# Second build from scratch: same sources, compiled again.
rm -rf target
package || fail "the second build failed"

status=0
for j in "${jars[@]}"; do
  first="$work/first-$(basename "$j")"
  if cmp -s "$first" "$j"; then
    echo "reproducible: $j is byte-identical across two builds ($(sha256sum "$j" | cut -c1-16))"
  else
    status=1
    echo "reproducible: $j differs between two builds of the same commit; entries that differ:" >&2
    diff <(unzip -Z -l "$first" | sed 1d | sort -k 9) <(unzip -Z -l "$j" | sed 1d | sort -k 9) \
      | head -20 >&2 || true
    echo "reproducible: (entry times come from project.build.outputTimestamp; a plugin that" \
      "ignores it, or a generated file that embeds the build time, is the usual cause)" >&2
  fi
done
exit $status
