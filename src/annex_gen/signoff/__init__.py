"""Legal's sign-off: facts confirmed with a source (`facts`), and releases approved in the archive (`releases`)."""
