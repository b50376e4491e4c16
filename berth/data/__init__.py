"""Data sets: the embedded default, the user's files on disk, and their identity."""
