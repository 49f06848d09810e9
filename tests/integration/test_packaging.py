"""The built wheel holds the whole `bureau` package and works away from the source tree.

The code folders only become `bureau.*` through setuptools' package-dir mapping
(DESIGN.md section 2), so a folder or module left out of that mapping would pass every
test run against the source tree and still be missing for whoever installs the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Repository folder -> where its files belong in the wheel (DESIGN.md section 2).
CODE_FOLDERS = {
    "bureau": "bureau",
    "platform": "bureau/platform",
    "tenants": "bureau/tenants",
    "graphql": "bureau/graphql",
    "workers": "bureau/workers",
    "radius_proxy": "bureau/radius_proxy",
    "migrations": "bureau/migrations",
}
# Never part of a source tree worth packaging; copying them would only slow the build.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", ".typecheck", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", ".import_linter_cache", "node_modules",
)  # fmt: skip
BUILD_TIMEOUT_S = 300
IMPORT_TIMEOUT_S = 60


def source_files() -> dict[str, Path]:
    """Every file under the code folders, keyed by the path it should have in the wheel."""
    found = {}
    for folder, target in CODE_FOLDERS.items():
        base = ROOT / folder
        if not base.is_dir():  # git keeps no empty folder: one not yet started may be absent
            continue
        for path in base.rglob("*"):
            relative = path.relative_to(base)
            if not path.is_file() or "__pycache__" in relative.parts or path.suffix == ".pyc":
                continue
            if any(part.startswith(".") for part in relative.parts):
                continue
            found[str(PurePosixPath(target, *relative.parts))] = path
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the working tree, so that the build's own `build/` and
    egg-info folders (which setuptools never cleans) cannot leak stale files in or out."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE, symlinks=True)
    out = work / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        cwd=work,
    )
    assert result.returncode == 0, f"wheel build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    (built,) = out.glob("*.whl")
    return built


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if not name.endswith("/")}


def test_every_module_of_every_code_folder_is_in_the_wheel_under_bureau(wheel: Path) -> None:
    modules = {name for name, path in source_files().items() if path.suffix == ".py"}
    assert "bureau/platform/money.py" in modules  # the walk found the tree at all
    missing = sorted(modules - wheel_names(wheel))
    assert missing == [], f"modules missing from {wheel.name}: {missing}"


def test_package_data_under_the_code_folders_is_in_the_wheel(wheel: Path) -> None:
    # Alembic's script.py.mako, RADIUS dictionaries, page templates and static files:
    # anything but a module or a note to developers must ship with the code beside it.
    data = {name for name, path in source_files().items() if path.suffix not in {".py", ".md"}}
    missing = sorted(data - wheel_names(wheel))
    assert missing == [], f"data files missing from {wheel.name}: {missing}"


def test_the_radius_dictionary_files_are_in_the_wheel(wheel: Path) -> None:
    # The top-level file is named just "dictionary", which no suffix pattern matches.
    shipped = {name for name in source_files() if name.startswith("bureau/radius_proxy/dictionary/")}
    assert {"bureau/radius_proxy/dictionary/dictionary", "bureau/radius_proxy/dictionary/dictionary.rfc2865"} <= shipped
    missing = sorted(shipped - wheel_names(wheel))
    assert missing == [], f"RADIUS dictionary files missing from {wheel.name}: {missing}"


def test_the_wheel_installs_nothing_at_top_level_but_bureau(wheel: Path) -> None:
    tops = {name.split("/", 1)[0] for name in wheel_names(wheel)}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert len(dist_info) == 1, tops
    # A top-level `platform` or `graphql` would shadow the standard library or graphql-core.
    assert tops - dist_info == {"bureau"}


def test_the_unpacked_wheel_imports_from_another_directory_without_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env, timeout=IMPORT_TIMEOUT_S
    )
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=IMPORT_TIMEOUT_S,
        ).stdout.strip()
    )
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site_packages)
    # The dependencies come from the test run's environment. A plain path line in a .pth
    # file only extends sys.path: the .pth files in that folder (the editable install's
    # finder among them) are not processed, so `bureau` can only come from the wheel.
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "test_run_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    script = (
        "import json, bureau, bureau.platform.money, bureau.tenants.routing, bureau.platform.ledger.posting;"
        "from bureau.radius_proxy import codec;"
        "d = codec.load_dictionary();"
        "print(json.dumps({'money': bureau.platform.money.__file__, 'path': list(bureau.__path__),"
        " 'dictionary': str(codec.SHIPPED_DICTIONARY), 'mikrotik': d.attribute('Mikrotik-Rate-Limit').vendor_id,"
        " 'error_cause': d.attribute('Error-Cause').values['Session-Context-Not-Found']}))"
    )
    result = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, env=env, cwd=elsewhere, timeout=IMPORT_TIMEOUT_S
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(found["money"]).resolve().is_relative_to(venv.resolve()), found
    # The RADIUS dictionary is read from the installed package, $INCLUDEs and all.
    assert Path(found["dictionary"]).resolve().is_relative_to(venv.resolve()), found
    assert (found["mikrotik"], found["error_cause"]) == (14988, 503), found
    # The source-tree shim must stay off: no folder outside the installed package.
    assert [Path(p).resolve() for p in found["path"]] == [(site_packages / "bureau").resolve()], found
