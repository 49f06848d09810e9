"""Bureau: hosted billing, provisioning and RADIUS for ISPs.

The code folders (`platform/`, `tenants/`, `graphql/`, `workers/`, `radius_proxy/`,
`migrations/`) live at the repository root without an `__init__.py`, and become
`bureau.platform`, `bureau.tenants`, ... (DESIGN.md §2). An installed wheel already has
them inside this package. In a source tree (a checkout on `sys.path`, or an editable
install) they are found by appending the repository root to this package's path.
"""

from pathlib import Path as _Path

_ROOT = _Path(__file__).resolve().parent.parent
if (_ROOT / "pyproject.toml").is_file() and (_ROOT / "platform").is_dir():  # source tree
    __path__.append(str(_ROOT))

__version__ = "0.1.0"
