"""Accelerator targets: hls4ml export, HLS projects, golden models, synthesis, latency, energy."""
