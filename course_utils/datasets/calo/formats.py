"""File formats of CaloChallenge 2022 dataset 1 (photons): the showers' HDF5 file and the binning XML.

HDF5 layout (published files and the course's simulation alike)
---------------------------------------------------------------
``incident_energies``
    float, shape (N, 1): energy of the incoming photon [MeV], one of the 15
    powers of two from 256 MeV (2**8) to 4.19 TeV (2**22).
``showers``
    float, shape (N, 368): energy deposited in each voxel [MeV], voxels in the
    order of the binning file (layer by layer; inside a layer, angular bin by
    angular bin, and radial bins inside each angular bin).

Binning XML (the challenge's schema)
------------------------------------
``<Bins><Bin name="photon" ...><Layer id="0" r_edges="0,5,..." n_bin_alpha="1"/>...``:
one ``Layer`` per calorimeter layer, radial edges in mm, ``n_bin_alpha``
angular bins over (-pi, pi]. A layer with ``r_edges="0"`` holds no voxel.
The course ships this file for dataset 1 photons (:data:`BINNING_FILE`).

This module imports neither the simulation nor the package ``__init__``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_utils.validation import check_count

__all__ = ["BINNING_FILE", "N_VOXELS", "INCIDENT_ENERGIES", "Layer", "Binning", "CaloData",
           "parse_binning", "default_binning", "read", "write"]

#: The binning of dataset 1 photons, shipped with the course.
BINNING_FILE = Path(__file__).with_name("binning_dataset_1_photons.xml")
#: Voxels per shower in dataset 1 photons.
N_VOXELS = 368
#: The 15 incident energies of dataset 1 [MeV]: 2**8 ... 2**22.
INCIDENT_ENERGIES = 2.0 ** np.arange(8, 23)


@dataclass(frozen=True)
class Layer:
    """One calorimeter layer of the voxel geometry.

    Attributes
    ----------
    id
        Layer number in the binning file (ATLAS sampling number).
    r_edges : numpy.ndarray, shape (n_r + 1,)
        Radial bin edges [mm].
    n_alpha
        Number of angular bins over (-pi, pi].
    start
        Index of the layer's first voxel in a shower vector.
    """

    id: int
    r_edges: np.ndarray
    n_alpha: int
    start: int

    @property
    def n_r(self) -> int:
        return len(self.r_edges) - 1

    @property
    def n_voxels(self) -> int:
        return self.n_r * self.n_alpha

    @property
    def voxels(self) -> slice:
        """The layer's voxels in a shower vector of length :attr:`Binning.n_voxels`."""
        return slice(self.start, self.start + self.n_voxels)

    def r_centres(self) -> np.ndarray:
        """Radial centre of each voxel [mm], shape (n_voxels,), in file order."""
        mid = 0.5 * (self.r_edges[1:] + self.r_edges[:-1])
        return np.tile(mid, self.n_alpha)

    def alpha_centres(self) -> np.ndarray:
        """Angular centre of each voxel [rad], shape (n_voxels,), in file order."""
        edges = np.linspace(-math.pi, math.pi, self.n_alpha + 1)
        mid = 0.5 * (edges[1:] + edges[:-1])
        return np.repeat(mid, self.n_r)

    def eta_phi_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Voxel centres in the (Δη, Δφ) plane [mm]: ``r cos α`` and ``r sin α``, each (n_voxels,)."""
        r, a = self.r_centres(), self.alpha_centres()
        return r * np.cos(a), r * np.sin(a)


@dataclass(frozen=True)
class Binning:
    """The voxel geometry: the layers that hold voxels, in file order.

    Attributes
    ----------
    particle
        ``name`` of the ``Bin`` element (``"photon"``).
    layers
        Only the layers with at least one voxel.
    """

    particle: str
    layers: tuple[Layer, ...]

    @property
    def n_voxels(self) -> int:
        return sum(layer.n_voxels for layer in self.layers)

    @property
    def layer_ids(self) -> list[int]:
        return [layer.id for layer in self.layers]

    def layer_energies(self, showers: np.ndarray) -> np.ndarray:
        """Energy per layer, shape (N, n_layers), from showers of shape (N, n_voxels)."""
        showers = np.asarray(showers, dtype=float)
        if showers.ndim != 2 or showers.shape[1] != self.n_voxels:
            raise ValueError(f"showers must have shape (N, {self.n_voxels}), got {showers.shape}")
        return np.stack([showers[:, layer.voxels].sum(axis=1) for layer in self.layers], axis=1)


def parse_binning(path: str | Path = BINNING_FILE, *, particle: str = "photon") -> Binning:
    """Parse a binning XML file of the CaloChallenge schema.

    Parameters
    ----------
    path
        The XML file (default: dataset 1 photons, shipped with the course).
    particle
        ``name`` of the ``Bin`` element to read.

    Returns
    -------
    Binning
        The layers that hold voxels, with their radial edges [mm] and angular bins.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        Malformed XML, no ``Bin`` for ``particle``, non-increasing radial edges,
        or a non-positive number of angular bins.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no binning file at {path}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path.name} is not valid XML: {exc}") from exc
    bins = [b for b in root.iter("Bin") if b.get("name") == particle]
    if not bins:
        names = [b.get("name") for b in root.iter("Bin")]
        raise ValueError(f"{path.name} has no <Bin name={particle!r}>: it has {names}")
    layers = []
    start = 0
    for elem in bins[0].iter("Layer"):
        try:
            lid = int(elem.attrib["id"])
            edges = np.array([float(s) for s in elem.attrib["r_edges"].split(",")])
            n_alpha = int(elem.attrib["n_bin_alpha"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path.name}: malformed <Layer {dict(elem.attrib)}>: expected id, r_edges "
                             f"(comma-separated mm) and n_bin_alpha ({exc})") from exc
        if n_alpha < 1:
            raise ValueError(f"{path.name}: layer {lid} has n_bin_alpha={n_alpha}, expected >= 1")
        if len(edges) < 2:
            continue  # r_edges="0": a layer without voxels
        if np.any(np.diff(edges) <= 0) or edges[0] < 0:
            raise ValueError(f"{path.name}: layer {lid} r_edges must start at >= 0 and increase, got {edges.tolist()}")
        layer = Layer(lid, edges, n_alpha, start)
        layers.append(layer)
        start += layer.n_voxels
    if not layers:
        raise ValueError(f"{path.name}: no layer of {particle!r} holds a voxel")
    return Binning(particle, tuple(layers))


def default_binning() -> Binning:
    """The binning of dataset 1 photons (5 layers, 368 voxels)."""
    return parse_binning(BINNING_FILE)


@dataclass
class CaloData:
    """Showers and their incident energies, as read from one file.

    Attributes
    ----------
    incident_energies : numpy.ndarray, shape (N,)
        Energy of the incoming photon [MeV].
    showers : numpy.ndarray, shape (N, 368)
        Energy per voxel [MeV] (float32).
    """

    incident_energies: np.ndarray
    showers: np.ndarray

    def __len__(self) -> int:
        return len(self.incident_energies)


def _check(e_inc: np.ndarray, showers: np.ndarray, where: str) -> None:
    if showers.ndim != 2 or showers.shape[1] != N_VOXELS:
        raise ValueError(f"{where}: showers have shape {showers.shape}, expected (N, {N_VOXELS}) "
                         "(dataset 1 photons: 368 voxels)")
    if e_inc.shape != (showers.shape[0],):
        raise ValueError(f"{where}: {e_inc.shape[0]} incident energies for {showers.shape[0]} showers")
    if len(e_inc) == 0:
        raise ValueError(f"{where} holds no shower")
    if not (np.all(np.isfinite(e_inc)) and np.all(np.isfinite(showers))):
        raise ValueError(f"{where}: NaN or infinite energies")
    if np.any(e_inc <= 0) or np.any(showers < 0):
        raise ValueError(f"{where}: negative energies (incident or deposited)")
    if e_inc.max() < 100.0:
        raise ValueError(f"{where}: incident energies up to {e_inc.max():.3g}, expected MeV (256 to 4.2e6): "
                         "were they written in GeV?")


def read(path: str | Path, *, n: int | None = None) -> CaloData:
    """Parse a dataset-1-photons HDF5 file (published or simulated by the course).

    Parameters
    ----------
    path
        The ``.hdf5`` file with ``incident_energies`` (N, 1) and ``showers`` (N, 368) [MeV].
    n
        Read only the first ``n`` showers (all by default).

    Returns
    -------
    CaloData
        ``incident_energies`` (N,) and ``showers`` (N, 368), in MeV.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        Not an HDF5 file (or truncated), missing datasets, a wrong voxel count,
        NaN, negative energies, or incident energies that are not in MeV.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no calorimeter shower file at {path}")
    n = check_count(n, "n", allow_none=True)
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("incident_energies", "showers") if k not in f]
            if missing:
                raise ValueError(f"{path.name} lacks the dataset(s) {missing}: it has {list(f.keys())} "
                                 "(expected 'incident_energies' (N, 1) and 'showers' (N, 368))")
            sel = slice(None) if n is None else slice(0, int(n))
            e_inc = np.asarray(f["incident_energies"][sel], dtype=np.float64)
            showers = np.asarray(f["showers"][sel], dtype=np.float32)
    except OSError as exc:
        raise ValueError(f"{path.name} is not a readable HDF5 file (truncated or corrupt?): {exc}") from exc
    if e_inc.ndim == 2 and e_inc.shape[1] == 1:
        e_inc = e_inc[:, 0]
    elif e_inc.ndim != 1:
        raise ValueError(f"{path.name}: incident_energies have shape {e_inc.shape}, expected (N, 1)")
    _check(e_inc, showers, path.name)
    return CaloData(e_inc, showers)


def write(data: CaloData, path: str | Path) -> Path:
    """Write showers in the dataset-1 HDF5 layout (``incident_energies`` (N, 1), ``showers`` (N, 368), MeV).

    Parameters
    ----------
    data
        The showers; checked as :func:`read` checks them.
    path
        Destination file (overwritten).

    Returns
    -------
    Path
        ``path``.
    """
    import h5py

    e_inc = np.asarray(data.incident_energies, dtype=np.float64).reshape(-1)
    showers = np.asarray(data.showers, dtype=np.float32)
    _check(e_inc, showers, "data to write")
    path = Path(path)
    with h5py.File(path, "w") as f:
        f.create_dataset("incident_energies", data=e_inc[:, None])
        f.create_dataset("showers", data=showers, compression="gzip", compression_opts=4)
    return path
