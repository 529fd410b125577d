"""The engine: the pipeline, its per-frame stages, and the session that builds it from settings."""
