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

The loader contract
-------------------
Every dataset's ``load`` has the same common arguments, with the same meaning
(``tests/test_dataset_contract.py`` checks it for every dataset)::

    load(source="auto", *, n=None, seed=42, verbose=True, data_home=None, **dataset_specific)

source : {"auto", "real", "simulated"}
    ``"real"``: the published dataset (a :class:`DataUnavailableError` when it
    cannot be had); ``"simulated"``: the course's simulation; ``"auto"``: the
    published dataset, else the simulation, within seconds when offline.
n : int >= 1 or None
    The number of rows of the main table (events, jets, images or showers:
    what ``len(ds)`` counts). ``None``: the dataset's default. A bad ``n`` is
    refused before any download or simulation, with the message of
    :func:`course_utils.validation.check_count`.
seed : int
    Always the seed of the simulation (same seed, same simulated rows). On the
    published data it chooses the random subset where the loader draws one
    (magic, lhco, calo) and changes nothing where the loader takes the first
    ``n`` rows (cms_dimuon, quark_gluon, higgs, brain_mri, trackml); each
    ``load`` says which.
verbose : bool
    Print the source used, its provenance and licence (and show progress bars).
data_home : path or None
    The folder of the published dataset's files, instead of
    ``<data>/real/<name>/`` (:func:`real_dir`): the loader looks for them
    there, and downloads there what is missing (as scikit-learn's
    ``data_home``). Simulations stay in ``<data>/simulated/<name>/``.

``load`` returns a :class:`Dataset`, whose fields are the same for every
dataset; ``len(ds)`` is the number of rows of its main table.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from course_utils import config
from course_utils._optional import MissingDependencyError
from course_utils.validation import check_choice

__all__ = ["SOURCES", "SIMULATION_LICENCE", "DataUnavailableError", "RemoteFile", "DatasetInfo", "Dataset",
           "real_dir", "simulated_dir", "load_with_fallback"]

SOURCES = ("auto", "real", "simulated")

#: The licence of every course simulation: the course's content licence (prose, figures, simulated data),
#: beside the MIT licence of the code that generates them (LICENSE, LICENSE-CONTENT.md). One string, used by
#: every simulation's ``Dataset``, the catalogue (data/README.md) and the README.
SIMULATION_LICENCE = "CC BY 4.0 (the course's simulation; the code that generates it: MIT)"

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
        Expected size in bytes (verified on every download), or ``None``.
    archive_member
        When the URLs serve a zip archive, the member that is this file.
    download_size
        Bytes downloaded, when they are not ``size``: the archive that holds
        the file, or a file whose exact size is not verified. The publisher's
        figure, possibly rounded: for planning (printed before a download,
        listed in ``data/README.md``), never checked.
    disk_size
        Bytes the file takes on disk when ``size`` is not known exactly: the
        publisher's figure, for planning only, never checked.
    """

    name: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None
    archive_member: str | None = None
    download_size: int | None = None
    disk_size: int | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError(f"{self.name}: at least one URL is needed")
        if self.sha256 is not None and len(self.sha256) != 64:
            raise ValueError(f"{self.name}: sha256 must be 64 hex digits, got {self.sha256!r}")
        for label in ("size", "download_size", "disk_size"):
            value = getattr(self, label)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{self.name}: {label} must be a positive number of bytes or None, got {value!r}")

    @property
    def bytes_to_fetch(self) -> int | None:
        """Bytes a download transfers: :attr:`download_size`, else :attr:`size` for a plain file; ``None``: unknown."""
        if self.download_size is not None:
            return self.download_size
        return self.size if self.archive_member is None else None

    @property
    def bytes_on_disk(self) -> int | None:
        """Bytes the file keeps on disk: :attr:`size`, else :attr:`disk_size`; ``None``: unknown."""
        return self.size if self.size is not None else self.disk_size


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
    name
        The dataset's name (``"magic"``).
    provenance, licence
        One line each, in English, printed by the loader.
    path
        The file or folder the data were read from.
    details
        What is particular to this dataset or this sample (simulation
        parameters and timings, the files read, class counts...).
    made_by
        How the published dataset was itself made (``"measured: ..."`` or
        ``"Monte Carlo: ..."``, from :attr:`DatasetInfo.made_by`); for the
        course's simulation, ``"course simulation"``.
    doi
        The published dataset's DOI (``None`` when it has none).

    ``len(ds)`` is the number of rows of the main table: events (magic,
    cms_dimuon, higgs, trackml, lhco), jets (quark_gluon), images of both
    splits (brain_mri), showers (calo). A ``data`` given as a tuple ``(X, y)``
    counts the rows of ``y``.
    """

    data: Any
    source: Literal["real", "simulated"]
    name: str
    provenance: str
    licence: str
    path: Path
    details: dict[str, Any] = field(default_factory=dict)
    made_by: str = ""
    doi: str | None = None

    def __post_init__(self) -> None:
        if self.source == "simulated" and not self.made_by:
            self.made_by = "course simulation"

    def __len__(self) -> int:
        data = self.data[-1] if isinstance(self.data, tuple) else self.data
        return len(data)

    def summary(self) -> str:
        kind = SOURCE_LABELS[self.source]
        made_by = self.made_by if self.source == "real" else None
        kind = f"{kind} ({made_by})" if made_by else kind
        return f"[{self.name}] {kind} | {self.provenance} | licence : {self.licence} | {self.path}"

    def __repr__(self) -> str:
        return f"Dataset({self.summary()})"


def real_dir(dataset: str, data_home: str | os.PathLike[str] | None = None) -> Path:
    """Folder of a published dataset's files: ``data_home`` when given, else ``<data>/real/<dataset>``."""
    if data_home is not None:
        return Path(data_home).expanduser()
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
    check_choice(source, "source", SOURCES)
    how = f"\n{info.how_to_obtain}" if info is not None and info.how_to_obtain else ""
    if source == "simulated":
        if load_simulated is None:
            raise ValueError(f"no simulation exists for {name!r} (yet): use source='real'")
        ds = load_simulated()
    elif source == "real":
        try:
            ds = load_real()
        except DataUnavailableError as exc:
            raise DataUnavailableError(f"the published {name} dataset is not available: {exc}{how}") from exc
    else:
        try:
            ds = load_real()
        except DataUnavailableError as exc:
            if load_simulated is None:
                raise DataUnavailableError(
                    f"the published {name} dataset is not available ({exc}) and no simulation exists yet{how}"
                ) from exc
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            first = " ".join(lines[:2]) + (f" (+{len(lines) - 2} more)" if len(lines) > 2 else "")
            if verbose:
                # Most published datasets are Monte Carlo themselves: "published", not "real data".
                print(f"[{name}] published dataset unavailable ({first}): using the course's simulation instead")
            try:
                ds = load_simulated()
            except MissingDependencyError as dep:
                # Pythia has no wheel on this platform (README, "Où le cours s'installe"): say both causes.
                raise DataUnavailableError(
                    f"the published {name} dataset is not available ({first}) and the course's simulation "
                    f"cannot run here: {dep}{how}") from dep
    if ds.source == "real" and info is not None:
        ds.made_by = ds.made_by or info.made_by
        ds.doi = ds.doi or info.doi
    if verbose:
        print(ds.summary())
    return ds
