"""Make ``ansible_collections.parodos.orchestrator`` importable from the checkout."""

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _link_collection():
    try:
        import ansible_collections.parodos.orchestrator.plugins  # noqa: F401

        return
    except ImportError:
        pass
    root = Path(tempfile.mkdtemp(prefix="orchestrator-unit-"))
    atexit.register(shutil.rmtree, root, True)
    target = root / "ansible_collections" / "parodos"
    target.mkdir(parents=True)
    (target / "orchestrator").symlink_to(REPO_ROOT)
    sys.path.insert(0, str(root))
    for name in [m for m in sys.modules if m.startswith("ansible_collections.parodos")]:
        del sys.modules[name]
    import ansible_collections

    ansible_collections.__path__.append(str(root / "ansible_collections"))


_link_collection()
