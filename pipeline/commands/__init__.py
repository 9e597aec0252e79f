"""``adsignal`` sub-command groups, one module per area; registered in ``pipeline.cli``."""
