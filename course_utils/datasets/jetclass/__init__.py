"""JetClass (Qu, Li, Qian 2022): ten classes of large-radius jets; the loader comes with the simulation."""
