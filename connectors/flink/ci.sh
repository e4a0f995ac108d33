#!/usr/bin/env bash
# CI for the Flink connector: a virtual environment of its own for apache-flink (≈ 850 MB,
# pins pandas < 2.3 and pyarrow < 21, so it stays out of pipecore's main install), kept in a
# cache directory and reused; pipecore (editable, from this repository) and pipecore-flink
# are installed into it; then the Flink tests run with pytest.
#
#   connectors/flink/ci.sh [pytest args...]
#
# PIPECORE_FLINK_VENV overrides the venv's place (default ~/.cache/pipecore/flink-venv).
# Without Java the tests skip with the reason; PIPECORE_REQUIRE_JAVA=1 (CI) turns that into
# a failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${PIPECORE_FLINK_VENV:-$HOME/.cache/pipecore/flink-venv}"
python="${PYTHON:-python3}"

# what the venv was made from: the two pyproject files and this checkout's path (editable
# installs point into it, and CI runs each time in a fresh clone)
stamp_now="$(cat "$repo/pyproject.toml" "$here/pyproject.toml" | sha256sum | cut -c1-16) $repo"
stamp_file="$venv/.pipecore-stamp"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "flink ci: creating $venv"
    "$python" -m venv "$venv"
fi
if [[ ! -f "$stamp_file" || "$(cat "$stamp_file")" != "$stamp_now" ]]; then
    echo "flink ci: installing apache-flink, pipecore and pipecore-flink into $venv"
    start=$SECONDS
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e "$repo" -e "$here[test]" "apache-iotdb>=2.0.5"
    echo "$stamp_now" > "$stamp_file"
    echo "flink ci: installed in $((SECONDS - start)) s"
fi

cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
