"""Example files shipped with adsignal (``rules.yml``: the README's rules)."""
