# Set-up shared by scripts/test and scripts/demo: source it, don't run it.
#
# Creates (or reuses) the project's virtual environment, installs the pinned
# dependencies (torch first, so nothing else can pull a CUDA build), installs the
# project itself in editable mode, and installs Icarus Verilog and Chromium (headless, for
# the HTML report's rendering test) with apt when running as root and they are missing. A
# stamp of the requirement files makes later runs a no-op until a pin changes.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ATTQ_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

_attq_stamp() {
    cat "$ROOT/requirements-torch.txt" "$ROOT/requirements.txt" "$ROOT/pyproject.toml" \
        | sha256sum | cut -d' ' -f1
}

attq_setup() {
    local stamp_file="$VENV/.attq-stamp" want
    want="$(_attq_stamp)"
    if [ ! -x "$PY" ]; then
        echo "[setup] creating virtual environment in $VENV"
        python3 -m venv "$VENV"
    fi
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$want" ]; then
        local log="$VENV/pip-install.log"
        echo "[setup] installing pinned dependencies (torch first; log in $log)"
        if ! { "$PY" -m pip install --disable-pip-version-check --upgrade pip &&
               "$PY" -m pip install --disable-pip-version-check -r "$ROOT/requirements-torch.txt" &&
               "$PY" -m pip install --disable-pip-version-check -r "$ROOT/requirements.txt" &&
               "$PY" -m pip install --disable-pip-version-check --no-deps -e "$ROOT"; } >"$log" 2>&1; then
            tail -n 30 "$log" >&2
            echo "[setup] error: pip failed; the whole log is $log" >&2
            return 1
        fi
        echo "$want" > "$stamp_file"
    else
        echo "[setup] virtual environment up to date ($VENV)"
    fi
    # Debian packages the tests use: Icarus Verilog (the second simulator of the cocotb
    # benches) and Chromium (headless, the HTML report's rendering test). One apt run
    # installs whichever are missing.
    local missing=() what=""
    if ! command -v iverilog >/dev/null 2>&1; then
        missing+=(iverilog); what="the Icarus benches"
    fi
    if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
        missing+=(chromium); what="${what:+$what and }the HTML report's rendering test"
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
            echo "[setup] installing ${missing[*]} with apt"
            (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
                >/dev/null 2>&1 || echo "[setup] warning: apt could not install ${missing[*]}; $what will be skipped"
        else
            echo "[setup] ${missing[*]} not found and not root: run 'sudo apt-get install ${missing[*]}'; $what will be skipped"
        fi
    fi
}
