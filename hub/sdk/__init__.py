"""Public plugin API for adapter authors: hookspecs, adapter base classes, errors."""
