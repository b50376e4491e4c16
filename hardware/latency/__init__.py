"""Latency measured on the target, fed back into the choice of the model (after GENet, arXiv 2006.14090).

* ``stats``: median, IQR and p90 of per-iteration times;
* ``timing``: the timer abstraction (CUDA events, or a wall-clock stand-in with the same API),
  warm-up by time, and the CPU path on ``torch.utils.benchmark``;
* ``cuda``: the CUDA path (events around each iteration, optional L2 flush and CUDA-graph replay)
  and the GPU's state read (never changed) through NVML or ``nvidia-smi``;
* ``variants``: what is measured — the Brevitas fake-quant model (a simulation, never deployable
  latency), its float equivalent (quantizers removed, dequantized weights) and an integer
  deployment path (ONNX Runtime on a QDQ export) where one exists;
* ``profiler``: profiles of a model over variants, batch sizes and dtypes;
* ``tables``: the store where latency figures go (schemas in ``berth.core.schemas``);
* ``layers``: per-layer times, the lookup table keyed by layer configuration and the raw sum of
  its entries; ``calibration``: the predictor's calibration and the calibrated prediction;
* ``report``: the per-layer table of one profiled model;
* ``blocks``: the GENet block study; ``records``: one record per trained model (robustness,
  energy, latency, FPGA cost); ``pareto``: fronts, plots and the choice under a budget.

GENet's networks are models like any other (``berth.models.genet``); the search that chooses one
under a latency budget is a flow (``berth.flows.search``).
"""
