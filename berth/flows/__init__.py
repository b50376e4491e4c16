"""Flows: the pipelines behind the commands (sweep, search, select, report), each a plain
Python function over the layers below."""
