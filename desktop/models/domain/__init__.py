"""Domain: pure rules. Plans, targets, periods and measures (`plan`), progress status (`status`),
the report workflow's states and moves (`workflow`), errors and text (`errors`, `i18n`).

Imports nothing from storage, services, export or Qt: no database, no files, no clock.
"""
