#!/usr/bin/env bash
# Resolve the Java artifacts of the interop tests from Maven Central into a cache outside the
# repository (never committed), once: a finished cache directory holds a `.complete` stamp
# and is reused. Idempotent; safe to run before every test run.
#
#   tools/java/prefetch.sh            # everything in tools/java/versions.env
#
# Cache: $PIPECORE_JAVA_CACHE (default ~/.cache/pipecore/java)/<name>-<version>/lib/*.jar
# Maven's own local repository (~/.m2) is used as usual, so a second cache is shared too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$here/versions.env"
cache=${PIPECORE_JAVA_CACHE:-$HOME/.cache/pipecore/java}
mkdir -p "$cache"

for tool in java javac mvn; do
  command -v "$tool" >/dev/null || { echo "prefetch: $tool is not installed" >&2; exit 3; }
done

# fetch NAME POM [mvn -D options...]: copy POM's dependencies into $cache/NAME/lib
fetch() {
  local name=$1 pom=$2
  shift 2
  local dir="$cache/$name"
  if [ -f "$dir/.complete" ]; then
    echo "prefetch: $name cached in $dir"
    return 0
  fi
  echo "prefetch: resolving $name"
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial"
  if ! mvn -B -q -f "$pom" dependency:copy-dependencies "$@" \
      -DoutputDirectory="$dir.partial/lib" >"$dir.partial/mvn.log" 2>&1; then
    echo "prefetch: $name did not resolve; the end of Maven's log:" >&2
    grep -E 'ERROR|BUILD' "$dir.partial/mvn.log" | head -5 >&2
    return 1
  fi
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
  date -u +%FT%TZ >"$dir/.complete"
}

status=0
for v in $IOTDB_VERSIONS; do
  fetch "iotdb-$v" "$here/iotdb/pom.xml" -Diotdb.version="$v" || status=1
done
fetch "tsfile-$TSFILE_VERSION" "$here/tsfile-dump/pom.xml" \
  -Dtsfile.groupId=org.apache.tsfile -Dtsfile.version="$TSFILE_VERSION" || status=1
fetch "iotdb-tsfile-$IOTDB_TSFILE_VERSION" "$here/tsfile-dump/pom.xml" \
  -Dtsfile.groupId=org.apache.iotdb -Dtsfile.version="$IOTDB_TSFILE_VERSION" || status=1
exit $status
