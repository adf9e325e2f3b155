"""Data files shipped with VKS CĐS (plans, fonts, icons). Located with importlib.resources."""
