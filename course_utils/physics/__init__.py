"""Physics helpers in pure NumPy/awkward: they never import ``course_utils.datasets``.

Modules
-------
jets
    jet observables, preprocessing and images from constituents (notebooks 02, 06, 10).
hillas
    Cherenkov camera geometry, image cleaning and Hillas parameters (notebooks 03a, 03b).
kinematics
    four-vector arithmetic on ``vector`` (notebooks 01, 04).
resonances
    known dimuon resonances (PDG masses from ``particle``) and local excesses (notebook 01).
calorimeter
    observables of calorimeter showers: energy per layer, centres and widths (notebook 09).
softdrop
    the soft-drop groomed jet and its mass (the JetClass simulation, notebook 11).
tracks
    track impact parameters from production vertices (the JetClass simulation).
nsubjettiness
    N-subjettiness tau_N with exclusive kT axes (notebooks 08, 10).
dijets
    the two leading anti-kT jets of an event and their LHCO features, with FastJet (notebook 08).

Sub-modules are imported on first use: ``from course_utils.physics import jets``.
"""
