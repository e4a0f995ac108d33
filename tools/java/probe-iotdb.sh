#!/usr/bin/env bash
# Which IoTDB module jars the registry serves for some versions: the evidence behind
# tools/java/versions.env and docs/interop.md "Versions". A developer's tool, not run by CI.
#
#   tools/java/probe-iotdb.sh 1.3.3 2.0.10     # one line per version: what is missing
#
# Each jar is asked for alone (`mvn dependency:get -Dtransitive=false`), so a missing parent
# POM does not hide a jar that is there. A version can run here only when every module of
# its DataNode (iotdb-server) and ConfigNode (iotdb-confignode) is served: the modules are the
# org.apache.iotdb dependencies of whichever of those two POMs the registry has.
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: $0 VERSION..." >&2; exit 2; }
command -v mvn >/dev/null || { echo "probe: mvn is not installed" >&2; exit 3; }
repo=$(mvn -B -q help:evaluate -Dstyle.color=never -Dexpression=settings.localRepository -DforceStdout 2>/dev/null | sed "s/\x1b\[[0-9;]*m//g")
repo=${repo:-$HOME/.m2/repository}

has() { mvn -B -q dependency:get -Dartifact="org.apache.iotdb:$1:$2:$3" -Dtransitive=false \
  >/dev/null 2>&1; }

status=0
for v in "$@"; do
  modules="iotdb-server iotdb-confignode"
  for main in iotdb-server iotdb-confignode; do
    has "$main" "$v" pom || continue
    pom="$repo/org/apache/iotdb/$main/$v/$main-$v.pom"
    modules="$modules $(grep -A1 '<groupId>org.apache.iotdb</groupId>' "$pom" \
      | sed -n 's|.*<artifactId>\(.*\)</artifactId>.*|\1|p' | grep -vE '^iotdb-(core|parent)$')"
  done
  missing=""
  for a in $(echo "$modules" | tr ' ' '\n' | awk 'NF && !seen[$0]++'); do
    has "$a" "$v" jar || missing="$missing $a"
  done
  if [ -z "$missing" ]; then
    echo "$v: every module jar is served"
  else
    echo "$v: missing jars:$missing"
    status=1
  fi
done
exit $status
