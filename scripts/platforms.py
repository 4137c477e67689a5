"""Where the course installs: the platform table of the README, derived from PyPI's wheels.

For every package pinned in ``requirements.txt`` (its environment markers evaluated for
each platform), PyPI's simple index (PEP 691 JSON) says which wheels the pinned version
has. A platform runs:

* **the full course** when every pin has a wheel for it (or is pure Python);
* **the published datasets only** when only the simulation stack (Pythia, FastJet) has
  no wheel there: ``requirements.txt`` skips both by marker, the loaders read the
  published files, and a simulation request says what to install and where it works;
* **not natively** otherwise (a compiled package has no wheel): WSL2 or Colab.

Usage::

    python scripts/platforms.py            # print the table (asks PyPI)
    python scripts/platforms.py --write    # rewrite the README's table between its markers

``tests/test_platforms.py`` (marker ``pypi``, run by ``make check-install``) compares the
README with what PyPI says today, and the simulation markers of ``requirements.txt``
with the platforms that have Pythia's and FastJet's wheels, so the table cannot drift.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- platforms:start -->", "<!-- platforms:end -->"
PYTHONS = ("3.11", "3.12")
#: What the course simulates with; without their wheels the published datasets still work.
SIMULATION = ("pythia8mc", "fastjet")


@dataclass(frozen=True)
class Platform:
    """One kind of machine: its environment markers and the wheel platform tags it accepts."""

    key: str
    sys_platform: str
    machine: str
    #: Darwin kernel release (macOS 15 is Darwin 24), for markers on platform_release.
    release: str = "6.8.0"
    #: Oldest glibc (Linux) or newest macOS version the platform runs.
    os_version: tuple[int, int] = (2, 35)

    def markers(self, python: str) -> dict[str, str]:
        return {"sys_platform": self.sys_platform, "platform_machine": self.machine,
                "platform_release": self.release, "python_version": python,
                "python_full_version": python + ".0", "os_name": "nt" if self.sys_platform == "win32" else "posix",
                "platform_system": {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[self.sys_platform],
                "implementation_name": "cpython", "platform_python_implementation": "CPython"}

    def accepts(self, platform_tag: str) -> bool:
        if platform_tag == "any":
            return True
        if self.sys_platform == "win32":
            return platform_tag == "win_amd64"
        if self.sys_platform == "linux":
            m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", platform_tag)
            legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
            if m:
                glibc, arch = (int(m[1]), int(m[2])), m[3]
            else:
                m = re.fullmatch(r"(manylinux\d+)_(\w+)", platform_tag)
                if not m or m[1] not in legacy:
                    return False
                glibc, arch = legacy[m[1]], m[2]
            return arch == self.machine and glibc <= self.os_version
        m = re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", platform_tag)
        if not m:
            return False
        arches = {"arm64": {"arm64", "universal2"}, "x86_64": {"x86_64", "universal2", "intel", "universal"}}
        return m[3] in arches[self.machine] and (int(m[1]), int(m[2])) <= self.os_version


PLATFORMS = {
    "linux-x86_64": Platform("linux-x86_64", "linux", "x86_64"),
    "linux-aarch64": Platform("linux-aarch64", "linux", "aarch64"),
    "macos-arm64-15": Platform("macos-arm64-15", "darwin", "arm64", "24.0.0", (15, 0)),
    "macos-arm64-14": Platform("macos-arm64-14", "darwin", "arm64", "23.0.0", (14, 0)),
    "macos-arm64-13": Platform("macos-arm64-13", "darwin", "arm64", "22.0.0", (13, 0)),
    "macos-x86_64": Platform("macos-x86_64", "darwin", "x86_64", "24.0.0", (15, 0)),
    "windows": Platform("windows", "win32", "AMD64"),
}

#: The README's rows: (what a reader has, the platform whose wheels decide, its Pythons, a remark).
ROWS = [
    ("Linux x86_64 (glibc ≥ 2.35 : Ubuntu 22.04, Debian 12 ou plus récents)", "linux-x86_64", PYTHONS, ""),
    ("Windows avec WSL2 (Ubuntu 22.04 ou plus récent)", "linux-x86_64", PYTHONS,
     "la voie conseillée sous Windows"),
    ("JupyterHub (serveur Linux x86_64)", "linux-x86_64", PYTHONS,
     "un dossier de données partagé en lecture seule : section « Pour les enseignants »"),
    ("Google Colab", "linux-x86_64", ("3.12",),
     "la première cellule installe ce qui manque (`make check-colab`)"),
    ("Binder", "linux-x86_64", ("3.11",), "torch CPU ; mode rapide par défaut (2 Go de mémoire)"),
    ("Linux aarch64 (ARM)", "linux-aarch64", PYTHONS, "Colab pour la simulation"),
    ("macOS 15 ou plus récent, Apple Silicon (arm64)", "macos-arm64-15", PYTHONS, ""),
    ("macOS 14, Apple Silicon", "macos-arm64-14", PYTHONS, "Colab pour la simulation"),
    ("macOS 13 ou plus ancien, Apple Silicon", "macos-arm64-13", PYTHONS, "Colab"),
    ("macOS, processeur Intel", "macos-x86_64", PYTHONS, "Colab"),
    ("Windows natif (x86_64)", "windows", PYTHONS, "WSL2 ou Colab pour la simulation"),
]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path = ROOT / "requirements.txt") -> list[str]:
    """Requirement lines of a requirements file (comments, options and ``-r`` lines dropped)."""
    lines = []
    for raw in path.read_text().splitlines():
        line = re.split(r"\s#", " " + raw, maxsplit=1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


def pins(path: Path = ROOT / "requirements.txt") -> list[Requirement]:
    return [Requirement(line) for line in requirement_lines(path)]


def _files(name: str) -> list[dict]:
    req = urllib.request.Request(f"https://pypi.org/simple/{_norm(name)}/",
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)["files"]


def wheels(requirements: list[Requirement]) -> dict[str, list[str]]:
    """``{name: [wheel filenames of the pinned version]}`` from PyPI's simple index."""
    def one(req: Requirement) -> tuple[str, list[str]]:
        version = next(iter(req.specifier)).version
        out = []
        for f in _files(req.name):
            if not f["filename"].endswith(".whl") or f.get("yanked"):
                continue
            _, ver, _, _ = parse_wheel_filename(f["filename"])
            if str(ver) == version or ver.public == version:
                out.append(f["filename"])
        return _norm(req.name), out

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, requirements))


def has_wheel(filenames: list[str], platform: Platform, python: str) -> bool:
    """Whether one of these wheels installs on CPython ``python`` on ``platform``."""
    cp = "cp" + python.replace(".", "")
    minor = int(python.split(".")[1])
    for filename in filenames:
        for tag in parse_wheel_filename(filename)[3]:
            interp_ok = (tag.interpreter in (cp, "py3", "py2.py3")
                         or (tag.abi == "abi3" and tag.interpreter.startswith("cp3")
                             and int(tag.interpreter[3:]) <= minor))
            abi_ok = tag.abi in ("none", "abi3", cp)
            if interp_ok and abi_ok and platform.accepts(tag.platform):
                return True
    return False


def missing(requirements: list[Requirement], available: dict[str, list[str]], platform: Platform,
            python: str) -> list[str]:
    """The pins that apply on this platform (markers) and have no wheel for it.

    A pin with no wheel anywhere (a source archive only) is taken as pure Python and
    counted as installable.
    """
    out = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate(platform.markers(python)):
            continue
        files = available[_norm(req.name)]
        if files and not has_wheel(files, platform, python):
            out.append(_norm(req.name))
    return out


def simulation_wheels(available: dict[str, list[str]], platform: Platform, python: str) -> bool:
    return all(has_wheel(available[name], platform, python) for name in SIMULATION)


def verdict(requirements: list[Requirement], available: dict[str, list[str]], platform: Platform,
            python: str) -> str:
    """What runs there, in French."""
    absent = missing(requirements, available, platform, python)
    no_simulation = not simulation_wheels(available, platform, python)
    if absent:
        return "non : sans wheel pour " + ", ".join(f"`{name}`" for name in absent)
    if no_simulation:
        lacking = [name for name in SIMULATION if not has_wheel(available[name], platform, python)]
        return "données publiées seulement (sans " + ", ".join(f"`{name}`" for name in lacking) + ")"
    return "cours complet"


def table(requirements: list[Requirement] | None = None,
          available: dict[str, list[str]] | None = None) -> str:
    """The README's platform table (markdown)."""
    requirements = requirements if requirements is not None else pins()
    available = available if available is not None else wheels(requirements)
    lines = ["| machine | " + " | ".join(f"Python {p}" for p in PYTHONS) + " | remarque |",
             "|---|" + "---|" * len(PYTHONS) + "---|"]
    for label, key, pythons, remark in ROWS:
        cells = [verdict(requirements, available, PLATFORMS[key], p) if p in pythons else "—" for p in PYTHONS]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {remark} |")
    return "\n".join(lines)


def readme_table(text: str | None = None) -> str:
    text = text if text is not None else README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"README.md has no platform table between {START} and {END}")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str]) -> int:
    fresh = table()
    if "--write" in argv:
        text = README.read_text(encoding="utf-8")
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        README.write_text(f"{before}{START}\n{fresh}\n{END}{after}", encoding="utf-8")
        print(f"README.md: platform table rewritten ({len(ROWS)} rows)")
    else:
        print(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
