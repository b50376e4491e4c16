"""Subcommands of the berth CLI; each module has ``register(subparsers)``."""
