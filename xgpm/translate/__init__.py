"""Domain adaptation: any constellation radiometer to pseudo-GMI (``ds.gpm.to_gmi()``)."""
