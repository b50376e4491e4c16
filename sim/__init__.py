"""cocotb test benches (separate modules) and their pytest-facing runners."""
