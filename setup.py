"""Maps the top-level code folders onto the `bureau` import package (DESIGN.md §2).

The folders `platform/`, `tenants/`, ... carry no `__init__.py` of their own, so that
they never shadow the standard library's `platform` or graphql-core's `graphql` when
the repository root is on `sys.path`. Every nested package is derived from the tree
so that a new subfolder cannot be left out of the wheel.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

ROOT = Path(__file__).parent
FOLDERS = {
    "bureau": "bureau",
    "bureau.platform": "platform",
    "bureau.tenants": "tenants",
    "bureau.graphql": "graphql",
    "bureau.workers": "workers",
    "bureau.radius_proxy": "radius_proxy",
    "bureau.migrations": "migrations",
}
# git keeps no empty folder, so a code folder with no module yet is absent from a clean checkout.
FOLDERS = {name: folder for name, folder in FOLDERS.items() if (ROOT / folder).is_dir()}
# File-name patterns of package data; the RADIUS dictionary's top-level file is just "dictionary".
DATA_SUFFIXES = (
    "*.mako",
    "*.ini",
    "dictionary",
    "*.dictionary",
    "dictionary.*",
    "*.html",
    "*.css",
    "*.js",
    "*.txt",
    "*.graphql",
)


def _packages() -> list[str]:
    packages = []
    for name, folder in FOLDERS.items():
        packages.append(name)
        for sub in find_namespace_packages(str(ROOT / folder), exclude=["*__pycache__*"]):
            packages.append(f"{name}.{sub}")
    return packages


setup(
    packages=_packages(),
    package_dir=FOLDERS,
    package_data={name: list(DATA_SUFFIXES) for name in _packages()},
)
