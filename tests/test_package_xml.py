"""package.xml declares what the package imports and nothing else: rosdep installs each entry."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PACKAGES = {
    "python3-numpy": "numpy",
    "python3-opencv": "cv2",
    "python3-yaml": "yaml",
    "python3-pil": "PIL",
}
"""rosdep keys of Python libraries, by the module they provide (the others are the module's own name)."""


def imported_modules() -> set[str]:
    """Top-level names of every module the package, its launch file and its tests import."""
    found = set()
    for path in [
        *ROOT.glob("warp_refine_ros/**/*.py"),
        *ROOT.glob("launch/*.py"),
        *ROOT.glob("tests/**/*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_every_dependency_in_package_xml_is_imported():
    declared = [
        element.text.strip()
        for element in ET.parse(ROOT / "package.xml").getroot()
        if element.tag in ("depend", "exec_depend", "test_depend", "build_depend") and element.text
    ]
    modules = imported_modules()
    unused = [
        key for key in declared if SYSTEM_PACKAGES.get(key, key.removeprefix("python3-")) not in modules
    ]
    assert declared and not unused, f"package.xml declares what nothing imports: {unused}"
