"""Every table of the results store, declared once: its columns (name -> type) and primary key.

Types are INTEGER, REAL, TEXT, BLOB and JSON (JSON values are encoded on insert and decoded on
query). ``Store(path)`` creates every table here; a subsystem writes rows, never a schema.

Robustness (``berth sweep``, ``berth eval``, ``berth search``)
  ``sweeps``      name (key), config JSON (the resolved sweep), created, updated (UTC ISO strings).
  ``runs``        one trained model: run_id (key), sweep (the sweep's name, or the producing
                  command for eval/train/search), label, model, scheme, bits, method, w_max
                  (0 = the scheme's own), seed, config JSON (everything that built it), seeds, versions,
                  machine JSON, clean_error, history JSON (per-epoch metrics), checkpoint (path),
                  started / finished (UNIX time), train_s (seconds), command (sweep, eval, train
                  or search: what produced the row).
  ``evals``       one evaluation of a run under one error model: (run_id, errors) key, spec JSON,
                  clean_error, n_test, chips, eval_s, machine JSON, finished. Written in the same
                  transaction as its ``robustness`` rows: an evals row means all of them are there.
  ``robustness``  one row per (run_id, errors, p, chip): rerr (fraction in [0, 1]).
  ``claims``      sweep tasks being worked on: task (key, e.g. "train:RUN" or "eval:RUN:ERRORS"),
                  owner (a token per driver process), host, pid, heartbeat (UNIX time). Two drivers
                  on one store take tasks by claiming them and skip the other's live claims; a claim
                  whose driver died (its pid gone on this host, or no heartbeat for a minute) is
                  taken over. Rows are deleted when their results are stored.
  ``results``     a view joining the three: one row per (run, errors, p, chip) with the run's axes.

HLS (``berth hls``, ``berth bm hls``)
  ``hls_cost``    one row per hls4ml project: model, scheme, bits, checkpoint, MACs, weight bits,
                  bit-operations, weights, memory words at the target's word width, details JSON.
  ``hls_synth``   one vendor synthesis report per (design, config): design is "hls4ml" or the
                  kernel's name ("blockmatch"), config the hls4ml project id or the kernel's
                  canonical parameter JSON; path (the report file), tool, top, part, clocks (ns), latency and interval
                  (cycles), the worst pipeline II, LUT/FF/DSP/BRAM_18K/URAM, available resources
                  and the whole parsed report (JSON), finished (UTC).
  ``hls_synth_modules``  one sub-module of a synthesized design per (design, config, module), beside its
                  ``hls_synth`` row: layer (the model layer it implements, when known), path (its
                  report), latency and interval (cycles), the worst pipeline II, LUT/FF/DSP/BRAM_18K/URAM,
                  loops JSON, finished (UTC).
  ``hls_inject``  one row per (project, error model, p, chip, n): bit-exact match rate, max difference, argmax
                  agreement, hardware and software error on the inputs; ``errors`` labels the error model
                  (random, stuck_at-1, profiled-<hash of its maps>), ``spec`` holds it whole, with the
                  data the inputs came from, versions, machine and time.

Latency (``berth profile``, ``berth search``)
  ``latency``     one profile: (model_key, run_id, variant, device, dtype, batch, threads, clock
                  (wall = elapsed time, CUDA events on a GPU; thread = the thread's CPU time),
                  l2_flush, cuda_graph) key; model name and config, whether the variant is
                  deployable, the timer, ms per batch (median, q1, q3, IQR, p90, mean) and per
                  image, samples and calls per sample, warm-up, environment JSON, measured (UTC).
  ``layer_latency``  the lookup table: one entry per layer configuration (op, cin, cout, kernel,
                  stride, groups, h, w, batch, dtype, device, threads): median, IQR and minimum ms.
  ``latency_layers`` per-layer times of one profiled model: (model_key, device, dtype, batch,
                  threads, idx) key; layer name, op, the lookup-table ms and the in-situ (hook) ms.
  ``latency_calibration``  the predictor's calibration per (device, dtype, threads, statistic,
                  batch): scale = median of measured / sum of entries over calibration models, IQR.
  ``block_study`` GENet block study: (block, stage, h, width, batch, dtype, device, threads) key;
                  FLOPs, median ms, IQR, FLOPs per ms.
"""

from __future__ import annotations

Schema = tuple[dict[str, str], tuple[str, ...]]

TYPES = ("INTEGER", "REAL", "TEXT", "BLOB", "JSON")

TABLES: dict[str, Schema] = {
    "sweeps": ({"name": "TEXT", "config": "JSON", "created": "TEXT", "updated": "TEXT"}, ("name",)),
    "runs": ({"run_id": "TEXT", "sweep": "TEXT", "label": "TEXT", "model": "TEXT", "scheme": "TEXT",
              "bits": "INTEGER", "method": "TEXT", "w_max": "REAL", "seed": "INTEGER", "config": "JSON",
              "seeds": "JSON", "versions": "JSON", "machine": "JSON", "clean_error": "REAL",
              "history": "JSON", "checkpoint": "TEXT", "started": "REAL", "finished": "REAL",
              "train_s": "REAL", "command": "TEXT"}, ("run_id",)),
    "evals": ({"run_id": "TEXT", "errors": "TEXT", "spec": "JSON", "clean_error": "REAL", "n_test": "INTEGER",
               "chips": "INTEGER", "eval_s": "REAL", "machine": "JSON", "finished": "REAL"},
              ("run_id", "errors")),
    "robustness": ({"run_id": "TEXT", "errors": "TEXT", "p": "REAL", "chip": "INTEGER", "rerr": "REAL"},
                   ("run_id", "errors", "p", "chip")),
    "claims": ({"task": "TEXT", "owner": "TEXT", "host": "TEXT", "pid": "INTEGER", "heartbeat": "REAL"},
               ("task",)),
    "hls_cost": ({"project": "TEXT", "path": "TEXT", "model": "TEXT", "scheme": "TEXT", "bits": "INTEGER",
                  "checkpoint": "TEXT", "macs": "INTEGER", "weight_bits": "INTEGER", "bops": "INTEGER",
                  "weights": "INTEGER", "code_bits": "INTEGER", "memory_word_bits": "INTEGER",
                  "memory_words": "INTEGER", "detail": "JSON"}, ("project",)),
    "hls_synth": ({"design": "TEXT", "config": "TEXT", "path": "TEXT", "tool": "TEXT", "top": "TEXT", "part": "TEXT",
                   "target_clock_ns": "REAL", "estimated_clock_ns": "REAL", "latency_best": "INTEGER",
                   "latency_worst": "INTEGER", "interval_min": "INTEGER", "interval_max": "INTEGER",
                   "max_pipeline_ii": "INTEGER", "lut": "INTEGER", "ff": "INTEGER", "dsp": "INTEGER",
                   "bram_18k": "INTEGER", "uram": "INTEGER", "available": "JSON", "report": "JSON",
                   "finished": "TEXT"}, ("design", "config")),
    "hls_synth_modules": ({"design": "TEXT", "config": "TEXT", "module": "TEXT", "layer": "TEXT", "path": "TEXT",
                           "latency_best": "INTEGER", "latency_worst": "INTEGER", "interval_min": "INTEGER",
                           "interval_max": "INTEGER", "max_pipeline_ii": "INTEGER", "lut": "INTEGER", "ff": "INTEGER",
                           "dsp": "INTEGER", "bram_18k": "INTEGER", "uram": "INTEGER", "loops": "JSON",
                           "finished": "TEXT"}, ("design", "config", "module")),
    "hls_inject": ({"project": "TEXT", "errors": "TEXT", "p": "REAL", "chip": "INTEGER", "n": "INTEGER",
                    "flipped_codes": "INTEGER", "exact_match": "REAL", "max_abs_diff": "REAL",
                    "argmax_agreement": "REAL", "hw_error": "REAL", "sw_error": "REAL", "spec": "JSON",
                    "data": "JSON", "versions": "JSON", "machine": "JSON", "finished": "TEXT"},
                   ("project", "errors", "p", "chip", "n")),
    "latency": ({"model_key": "TEXT", "run_id": "TEXT", "model": "TEXT", "model_config": "JSON",
                 "variant": "TEXT", "deployable": "INTEGER", "device": "TEXT", "dtype": "TEXT",
                 "batch": "INTEGER", "threads": "INTEGER", "clock": "TEXT", "l2_flush": "INTEGER",
                 "cuda_graph": "INTEGER", "timer": "TEXT", "ms_median": "REAL", "ms_q1": "REAL", "ms_q3": "REAL",
                 "ms_iqr": "REAL", "ms_p90": "REAL", "ms_mean": "REAL", "ms_per_image": "REAL", "rel_iqr": "REAL",
                 "samples": "INTEGER", "calls_per_sample": "INTEGER", "warmup_s": "REAL", "detail": "JSON",
                 "env": "JSON", "measured": "TEXT"},
                ("model_key", "run_id", "variant", "device", "dtype", "batch", "threads", "clock", "l2_flush",
                 "cuda_graph")),
    "layer_latency": ({"op": "TEXT", "cin": "INTEGER", "cout": "INTEGER", "kernel": "INTEGER", "stride": "INTEGER",
                       "groups": "INTEGER", "h": "INTEGER", "w": "INTEGER", "batch": "INTEGER", "dtype": "TEXT",
                       "device": "TEXT", "threads": "INTEGER", "ms_median": "REAL", "ms_iqr": "REAL",
                       "ms_min": "REAL", "samples": "INTEGER", "measured": "TEXT"},
                      ("op", "cin", "cout", "kernel", "stride", "groups", "h", "w", "batch", "dtype", "device",
                       "threads")),
    "latency_layers": ({"model_key": "TEXT", "device": "TEXT", "dtype": "TEXT", "batch": "INTEGER",
                        "threads": "INTEGER", "idx": "INTEGER", "name": "TEXT", "op": "TEXT", "config": "JSON",
                        "table_ms": "REAL", "hook_ms": "REAL"},
                       ("model_key", "device", "dtype", "batch", "threads", "idx")),
    "latency_calibration": ({"device": "TEXT", "dtype": "TEXT", "threads": "INTEGER", "statistic": "TEXT",
                             "batch": "INTEGER", "scale": "REAL", "ratio_q1": "REAL", "ratio_q3": "REAL",
                             "models": "INTEGER", "archs": "JSON", "measured": "TEXT"},
                            ("device", "dtype", "threads", "statistic", "batch")),
    "block_study": ({"block": "TEXT", "stage": "INTEGER", "h": "INTEGER", "width": "INTEGER", "batch": "INTEGER",
                     "dtype": "TEXT", "device": "TEXT", "threads": "INTEGER", "flops": "INTEGER",
                     "ms_median": "REAL", "ms_iqr": "REAL", "flops_per_ms": "REAL", "measured": "TEXT"},
                    ("block", "stage", "h", "width", "batch", "dtype", "device", "threads")),
}

VIEWS: dict[str, str] = {
    "results": """
CREATE VIEW IF NOT EXISTS results AS
SELECT r.sweep, r.label, r.model, r.scheme, r.bits, r.method, r.w_max, r.seed, b.run_id,
       b.errors, b.p, b.chip, e.clean_error, b.rerr
FROM robustness b JOIN runs r ON r.run_id = b.run_id
JOIN evals e ON e.run_id = b.run_id AND e.errors = b.errors
""",
}
