"""The core: errors, typed configuration, atomic files, external tools, provenance and the
results store with every table's schema. It imports nothing else of berth."""
