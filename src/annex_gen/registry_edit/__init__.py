"""Changing the registry from the web: a change as data, applied to the YAML files round-trip,
checked as `annex-gen check` checks them, kept as a proposal until a second legal user approves it.

changes.py   a change (entity, location, section entry, transfer basis) and its facts' sources
yamledit.py  applying changes to the registry files' text (ruamel round-trip: comments and order kept)
staged.py    the registry as a change would leave it, loaded and checked; its diff and impact
log.py       the append-only, hash-chained log of proposals and approvals (SQLite or PostgreSQL)
proposals.py proposals as the log's events make them; propose, edit, withdraw
approve.py   four eyes: approval writes the files and commits them (git) or chains them (log)
"""
