"""Services: every user action on the data. Each owns its transaction, checks permissions and
writes the audit log; `transitions.transition` is the only writer of a report's state.

Imports storage, domain and export (formats); never Qt.
"""
