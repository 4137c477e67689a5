"""What a dataset is: registry entries, the loaded dataset, the two sources.

Every dataset of the course has two sources:

* ``"real"``: the **published dataset** (downloaded, checksum-verified, cached).
  Several published datasets are themselves Monte Carlo simulations (HIGGS,
  the quark/gluon jets, MAGIC); :attr:`DatasetInfo.made_by` says how each was
  produced, and only measurements (CMS Open Data, the MRI images) are "real
  data" in the physicist's sense. The API keeps the short name ``"real"``.
* ``"simulated"``: the **course's own simulation**, written in exactly the
  published file format, so that one ``read`` parses both.

``"auto"`` tries the published dataset and falls back to the simulation within
seconds when it cannot be had (:func:`load_with_fallback`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from course_utils import config

__all__ = ["SOURCES", "DataUnavailableError", "RemoteFile", "DatasetInfo", "Dataset",
           "real_dir", "simulated_dir", "load_with_fallback"]

SOURCES = ("auto", "real", "simulated")

#: How each source is named to the reader.
SOURCE_LABELS = {"real": "jeu de données publié", "simulated": "SIMULATION du cours"}


class DataUnavailableError(RuntimeError):
    """The real dataset cannot be obtained here (offline, server error, bad checksum)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a public dataset.

    Parameters
    ----------
    name
        File name in the cache (``magic04.data``).
    urls
        Where to download it, tried in order (mirrors).
    sha256
        Expected SHA-256 of the file itself (``None`` only for files whose
        content is checked otherwise).
    size
        Expected size in bytes, or ``None``.
    archive_member
        When the URLs serve a zip archive, the member that is this file.
    """

    name: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None
    archive_member: str | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError(f"{self.name}: at least one URL is needed")
        if self.sha256 is not None and len(self.sha256) != 64:
            raise ValueError(f"{self.name}: sha256 must be 64 hex digits, got {self.sha256!r}")


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry: what the real dataset is and where it comes from."""

    name: str
    title: str
    provenance: str
    licence: str
    citation: str
    homepage: str
    files: tuple[RemoteFile, ...] = ()
    doi: str | None = None
    how_to_obtain: str = ""
    #: How the published dataset was itself produced ("measured: ..." or "Monte Carlo: ...").
    made_by: str = ""

    def file(self, name: str) -> RemoteFile:
        for f in self.files:
            if f.name == name:
                return f
        raise ValueError(f"dataset {self.name!r} has no file {name!r}: it has {[f.name for f in self.files]}")


@dataclass
class Dataset:
    """What a loader returns: the data, and where they come from.

    Attributes
    ----------
    data
        The loaded data (a DataFrame, arrays...), as the module documents.
    source
        ``"real"`` or ``"simulated"``.
    provenance, licence
        One line each, printed by the loader.
    path
        The file or folder the data were read from.
    details
        Anything else worth knowing (simulation parameters, number of events).
    """

    data: Any
    source: Literal["real", "simulated"]
    name: str
    provenance: str
    licence: str
    path: Path
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        kind = SOURCE_LABELS[self.source]
        made_by = self.details.get("made_by") if self.source == "real" else None
        kind = f"{kind} ({made_by})" if made_by else kind
        return f"[{self.name}] {kind} | {self.provenance} | licence : {self.licence} | {self.path}"

    def __repr__(self) -> str:
        return f"Dataset({self.summary()})"


def real_dir(dataset: str) -> Path:
    """Cache folder of a real dataset: ``<data>/real/<dataset>``."""
    return config.data_dir() / "real" / dataset


def simulated_dir(dataset: str) -> Path:
    """Cache folder of a dataset's simulations: ``<data>/simulated/<dataset>``."""
    return config.data_dir() / "simulated" / dataset


def load_with_fallback(name: str, source: str, load_real: Callable[[], Dataset],
                       load_simulated: Callable[[], Dataset] | None, *, info: DatasetInfo | None = None,
                       verbose: bool = True) -> Dataset:
    """Resolve ``source`` and return the dataset, printing which source was used.

    Parameters
    ----------
    name
        Dataset name, for messages.
    source : {"auto", "real", "simulated"}
        ``"auto"`` tries the real data and falls back to the simulation.
    load_real, load_simulated
        Loaders for each source. ``load_real`` raises :class:`DataUnavailableError`
        when the data cannot be had; ``load_simulated`` may be ``None`` when no
        simulation exists.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: expected one of {SOURCES}")
    how = f"\n{info.how_to_obtain}" if info is not None and info.how_to_obtain else ""
    if source == "simulated":
        if load_simulated is None:
            raise ValueError(f"no simulation exists for {name!r} (yet): use source='real'")
        ds = load_simulated()
    elif source == "real":
        try:
            ds = load_real()
        except DataUnavailableError as exc:
            raise DataUnavailableError(f"the real {name} dataset is not available: {exc}{how}") from exc
    else:
        try:
            ds = load_real()
        except DataUnavailableError as exc:
            if load_simulated is None:
                raise DataUnavailableError(
                    f"the real {name} dataset is not available ({exc}) and no simulation exists yet{how}"
                ) from exc
            if verbose:
                lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
                first = " ".join(lines[:2]) + (f" (+{len(lines) - 2} more)" if len(lines) > 2 else "")
                print(f"[{name}] real data unavailable ({first}): using the course's simulation instead")
            ds = load_simulated()
    if info is not None and info.made_by and ds.source == "real":
        ds.details.setdefault("made_by", info.made_by)
    if verbose:
        print(ds.summary())
    return ds
