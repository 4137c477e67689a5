"""Moved to :mod:`course_utils.physics.jets`: this alias keeps ``course_utils.jets`` working until every
caller imports the new path (remove it, and ``"jets"`` from ``course_utils._SUBMODULES``, then)."""

import sys

from course_utils.physics import jets as _jets

sys.modules[__name__] = _jets
