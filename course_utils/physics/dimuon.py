"""The dimuon selection of notebook 01 as one columnar function (notebooks 01, 01b).

Written with awkward operations and NumPy ufuncs only, so the same function runs
eagerly on a chunk read by ``uproot.iterate`` and lazily on each partition of an
``uproot.dask`` array (dask-awkward first runs it on a *typetracer*, an array
without data, to learn its output type: ``ak.to_numpy`` would fail there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BRANCHES", "MUON_MASS", "opposite_sign_mass"]

#: The NanoAOD branches the selection reads.
BRANCHES = ("Muon_pt", "Muon_eta", "Muon_phi", "Muon_charge")
#: Muon mass (GeV), PDG 2024.
MUON_MASS = 0.1056583755


def opposite_sign_mass(events: Any) -> Any:
    """Invariant mass (GeV) of the events with exactly two muons of opposite charge.

    Parameters
    ----------
    events
        An awkward array (or a dask-awkward partition) with the fields of
        :data:`BRANCHES`: jagged ``Muon_pt`` (GeV), ``Muon_eta``, ``Muon_phi``
        (rad) and ``Muon_charge``.

    Returns
    -------
    awkward.Array, shape (n_pairs,)
        One float64 mass per selected event. The float32 branches are promoted to
        float64 before the arithmetic (see notebook 01: float32 loses precision
        in ``m² = E² − p²`` for boosted pairs).
    """
    import awkward as ak

    missing = [b for b in BRANCHES if b not in ak.fields(events)]
    if missing:
        raise ValueError(f"events lack the branches {missing}: expected the fields {list(BRANCHES)}")
    pt, eta, phi, charge = (events[b] for b in BRANCHES)
    two = ak.num(pt, axis=1) == 2
    pt, eta, phi, charge = pt[two], eta[two], phi[two], charge[two]
    opposite = charge[:, 0] != charge[:, 1]
    pt, eta, phi = (ak.values_astype(x[opposite], np.float64) for x in (pt, eta, phi))
    energy = np.sqrt((pt * np.cosh(eta)) ** 2 + MUON_MASS**2)
    pz = pt * np.sinh(eta)
    m2 = 2 * MUON_MASS**2 + 2 * (energy[:, 0] * energy[:, 1] - pt[:, 0] * pt[:, 1] * np.cos(phi[:, 0] - phi[:, 1])
                                 - pz[:, 0] * pz[:, 1])
    return np.sqrt(np.maximum(m2, 0.0))
