"""The public sub-processor list, generated from the registry: pages, JSON, change feed and history.

`history` reads the registry's versions from git and diffs them; `site` turns the current
registry and that history into the files of a static site (`build_site`), all in memory, so
the caller writes nothing unless everything was built.
"""
