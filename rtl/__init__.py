"""Verilog RTL of berth's hardware blocks, shipped as package data (``importlib.resources``)."""
