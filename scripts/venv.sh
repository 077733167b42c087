# Shared by ./run and ./test (sourced, not executed): keep .venv in step with a requirements file.
#
# A stamp in var/ holds the hash of the requirements files last installed, so pip only runs
# when they change. The stamps describe .venv, which sits next to var/ at the project root, so
# they stay in ./var even when BILLING_VAR_DIR moves the data elsewhere.

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3 python; do
        [[ -n $candidate ]] && command -v "$candidate" >/dev/null || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11" >&2
    return 1
}

# ensure_venv REQUIREMENTS [MORE_FILES...]: install REQUIREMENTS into .venv unless the hash of
# REQUIREMENTS and MORE_FILES (the files it includes with -r) matches the last install's stamp.
ensure_venv() {
    local requirements=$1 stamp="var/venv-${1%.txt}.sha256" python wanted
    mkdir -p var
    if [[ ! -x .venv/bin/python || ! -x .venv/bin/pip ]]; then
        python=$(find_python)
        echo "==> Creating .venv with $("$python" --version)"
        rm -rf .venv var/venv-*.sha256
        if ! "$python" -m venv .venv; then
            rm -rf .venv
            echo "Could not create a virtualenv. On Debian or Ubuntu: apt-get install python3-venv" >&2
            return 1
        fi
    fi
    wanted=$(cat "$@" | sha256sum | cut -d' ' -f1)
    if [[ -f $stamp && $(<"$stamp") == "$wanted" ]]; then
        return 0
    fi
    echo "==> Installing $requirements into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" >"$stamp"
}
