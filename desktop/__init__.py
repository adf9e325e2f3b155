"""VKS CĐS: progress tracking and reporting for the procuracy's digital-transformation plans."""

__version__ = "0.1.0"
APP_NAME = "VKS CĐS"
APP_ID = "vks-cds"
ORG_NAME = "VKSND"
