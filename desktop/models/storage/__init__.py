"""Storage: the encrypted database (`db`, `schema`, `migrations`), the vault and key slots, the audit
chain and its anchors, evidence blobs, backups, shared queries and file-system helpers.

Imports the domain only; never services, export or Qt.
"""
