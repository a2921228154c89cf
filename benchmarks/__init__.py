"""asv benchmarks of xgpm (asv needs this folder to be a package; see asv.conf.json)."""
