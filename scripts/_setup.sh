# Set-up shared by scripts/test and scripts/demo: source it, don't run it.
#
# Creates (or reuses) the project's virtual environment, installs the pinned
# dependencies (torch first, so nothing else can pull a CUDA build), installs the
# project itself in editable mode, and installs Icarus Verilog, Chromium (headless, for
# the HTML report's rendering test) and ccache (the Verilator builds' shared objects) with
# apt when running as root and they are missing. A stamp of the requirement files makes
# later runs a no-op until a pin changes. pip writes no bytecode: compiling every module of
# torch and the rest took half of a fresh install's time (163 s against 79 s, beside other
# jobs), and Python compiles what is imported on first use.

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
               "$PY" -m pip install --disable-pip-version-check --no-compile -r "$ROOT/requirements-torch.txt" &&
               "$PY" -m pip install --disable-pip-version-check --no-compile -r "$ROOT/requirements.txt" &&
               "$PY" -m pip install --disable-pip-version-check --no-compile --no-deps -e "$ROOT"; } >"$log" 2>&1; then
            tail -n 30 "$log" >&2
            echo "[setup] error: pip failed; the whole log is $log" >&2
            return 1
        fi
        echo "$want" > "$stamp_file"
    else
        echo "[setup] virtual environment up to date ($VENV)"
    fi
    # Debian packages the tests use: Icarus Verilog (the second simulator of the cocotb
    # benches), Chromium (headless, the HTML report's rendering test) and ccache (the
    # cocotb benches' Verilator builds compile Verilator's own runtime once between them,
    # testsupport/runner.py). One apt run installs whichever are missing.
    local missing=() what=""
    if ! command -v iverilog >/dev/null 2>&1; then
        missing+=(iverilog); what="the Icarus benches will be skipped"
    fi
    if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
        missing+=(chromium); what="${what:+$what, }the HTML report's rendering test will be skipped"
    fi
    if ! command -v ccache >/dev/null 2>&1; then
        missing+=(ccache); what="${what:+$what, }the Verilator builds will take longer"
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
            echo "[setup] installing ${missing[*]} with apt"
            (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
                >/dev/null 2>&1 || echo "[setup] warning: apt could not install ${missing[*]}; $what"
        else
            echo "[setup] ${missing[*]} not found and not root: run 'sudo apt-get install ${missing[*]}'; $what"
        fi
    fi
}
