#!/usr/bin/env bash
# Regenerate the structure goldens in updraft/tests/golden/ from REAL Apache Airflow.
#
#   scripts/golden/regenerate.sh            # (re)create venvs if missing, regenerate every golden
#   scripts/golden/regenerate.sh --check    # regenerate into a temp dir and diff against the goldens
#   scripts/golden/regenerate.sh dags/example_basic_v2.py ...   # only these files
#   scripts/golden/regenerate.sh --bad-dags # also re-record what real Airflow's DAG processor reports
#                                           # for updraft/tests/fixtures/bad_dags/ (~2 min)
#
# Dialect -> Airflow: files named *_v2.py are loaded by Airflow 2.10.5, *_v3.py by Airflow 3.1.8.
# Files without such a suffix (e.g. the article's software_factory_pipeline.py, whose operators do
# not exist upstream) are skipped.
#
# Environment:
#   AIRFLOW_VENVS  where the venvs live (default /work/airflow-venvs; keep them OUT of the repo)
#   PYTHON         interpreter used to create the venvs (default: python3.11, else /usr/bin/python3)
#   UNLOCKED=1     install from the loose specs instead of the pinned lock files
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DAGS="$REPO/dags"
GOLDEN="$REPO/updraft/tests/golden"
VENVS="${AIRFLOW_VENVS:-/work/airflow-venvs}"

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON="$(command -v python3.11)"; else PYTHON=/usr/bin/python3; fi
fi

CHECK=0
BAD=0
FILES=()
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    --bad-dags) BAD=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) FILES+=("$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")") ;;
  esac
done

ensure_venv() { # name lockfile loose-spec...
  local name="$1" lock="$2"; shift 2
  local venv="$VENVS/$name"
  if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import airflow" >/dev/null 2>&1; then
    return 0
  fi
  echo ">> creating $venv with $PYTHON" >&2
  mkdir -p "$VENVS"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip setuptools wheel
  if [[ "${UNLOCKED:-0}" == 1 || ! -f "$lock" ]]; then
    "$venv/bin/pip" install "$@"
  else
    "$venv/bin/pip" install -r "$lock"
  fi
}

ensure_venv af210 "$HERE/requirements-af210.lock.txt" \
  "apache-airflow[virtualenv]==2.10.5" apache-airflow-providers-apache-kafka
ensure_venv af31 "$HERE/requirements-af31.lock.txt" \
  "apache-airflow==3.1.8" apache-airflow-providers-apache-kafka

if [[ ${#FILES[@]} -eq 0 ]]; then
  while IFS= read -r f; do FILES+=("$f"); done < <(find "$DAGS" -maxdepth 1 -name '*.py' | sort)
fi

OUT="$GOLDEN"
if [[ $CHECK == 1 ]]; then OUT="$(mktemp -d)"; fi
mkdir -p "$OUT"

status=0
for f in "${FILES[@]}"; do
  base="$(basename "$f" .py)"
  case "$base" in
    *_v2) venv="$VENVS/af210" ;;
    *_v3) venv="$VENVS/af31" ;;
    *) echo "-- skip $base (no _v2/_v3 dialect suffix)" >&2; continue ;;
  esac
  home="$(mktemp -d -t airflow-home-XXXXXX)"
  if AIRFLOW_HOME="$home" AIRFLOW__CORE__LOAD_EXAMPLES=False \
     "$venv/bin/python" "$HERE/airflow_structure.py" "$f" -o "$OUT/$base.json" 2>"$home/stderr.log"; then
    errors="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["import_errors"]))' "$OUT/$base.json")"
    echo "ok   $base ($(basename "$venv"), import_errors=$errors)" >&2
  else
    echo "FAIL $base: see $home/stderr.log" >&2
    tail -5 "$home/stderr.log" >&2
    status=1
    continue
  fi
  rm -rf "$home"
  if [[ $CHECK == 1 ]]; then
    if ! diff -u "$GOLDEN/$base.json" "$OUT/$base.json" >&2; then status=1; fi
  fi
done

if [[ $BAD == 1 ]]; then
  BADDIR="$REPO/updraft/tests/fixtures/bad_dags"
  for pair in af210:2.10 af31:3.1; do
    venv="$VENVS/${pair%%:*}"
    out="$BADDIR/airflow_${pair#*:}_report.json"
    [[ $CHECK == 1 ]] && out="$(mktemp)"
    echo ">> bad dags through the real $(basename "$venv") DAG processor -> $out" >&2
    "$venv/bin/python" "$HERE/airflow_bad_dags.py" "$BADDIR" > "$out"
    if [[ $CHECK == 1 ]]; then
      diff -u "$BADDIR/airflow_${pair#*:}_report.json" "$out" >&2 || status=1
      rm -f "$out"
    fi
  done
fi

if [[ $CHECK == 1 ]]; then
  if [[ $status == 0 ]]; then echo "goldens up to date" >&2; else echo "goldens differ (see diff above)" >&2; fi
  rm -rf "$OUT"
fi
exit $status
