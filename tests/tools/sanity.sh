#!/usr/bin/env bash
# Run `ansible-test sanity` offline on a copy of the collection, without ignore files.
#
# ansible-test wants the collection at .../ansible_collections/parodos/orchestrator,
# so the files git knows of (tracked, plus untracked files that are not ignored)
# are copied to build/sanity/ansible_collections/parodos/orchestrator, with
# kubernetes.core from the virtual environment linked beside it for the import
# and validate-modules tests. Extra arguments go to ansible-test.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=${VENV:-$repo/.venv}
python_version=${SANITY_PYTHON:-3.11}
py="$venv/bin/python"
export PATH="$venv/bin:$PATH"

# ansible-test bootstraps pip in its sanity environments with a get-pip script it
# downloads from a host that may be unreachable; put an offline stand-in in its cache.
pip_version=$("$py" - "$python_version" <<'PY'
import sys
from ansible_test._internal.python_requirements import get_venv_packages


class Python:
    version = sys.argv[1]


print(get_venv_packages(Python())["pip"])
PY
)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
install -m 0644 "$repo/tests/sanity/get_pip.py" "$cache/get_pip_${pip_version//./_}.py"

tree="$repo/build/sanity/ansible_collections"
dest="$tree/parodos/orchestrator"
rm -rf "$dest"
mkdir -p "$dest" "$tree/kubernetes"
(
  cd "$repo"
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf -
) | tar -xf - -C "$dest"

site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ln -sfn "$site/ansible_collections/kubernetes/core" "$tree/kubernetes/core"

cd "$dest"
# Outside git here: ansible-test must not take the checkout's .git (which ignores build/).
export ANSIBLE_TEST_CONTENT_ROOT="$dest"
exec ansible-test sanity --venv --python "$python_version" --color no "$@"
