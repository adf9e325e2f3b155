"""Bundles, PDF and Excel output. Never imports Qt."""
