# Shell helpers shared by the .ci scripts (sourced, not run).

python_for() {  # python_for 3.12 -> a python3.12 executable
    local v=$1
    for cand in "python$v" "$HOME/.pyenv/versions/$v"*/bin/python "/root/.pyenv/versions/$v"*/bin/python; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import venv' 2>/dev/null; then
            command -v "$cand"; return 0
        fi
    done
    return 1
}
