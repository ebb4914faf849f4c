# Sourced by the scripts: puts the repo's own tools on PATH.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_root/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
unset _root
