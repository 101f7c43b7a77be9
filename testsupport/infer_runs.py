"""Comparing the files of two ``attq-fpga infer`` runs that must agree (an interrupted and
resumed run against an uninterrupted one): everything but timings."""

import csv
import json

__all__ = ["comparable_json", "csv_without_timing"]

#: What differs between two equal runs: wall times, the command line, the link's retries.
_NOT_COMPARED = {"host_s", "host_s_total", "argv", "link"}


def _strip(doc):
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in _NOT_COMPARED}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def comparable_json(path):
    """The JSON file at ``path`` without the fields two equal runs may differ in."""
    return _strip(json.loads(open(path, encoding="utf-8").read()))


def csv_without_timing(path):
    """The CSV's rows as dicts, without the wall time column."""
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: v for k, v in r.items() if k not in _NOT_COMPARED}
                for r in csv.DictReader(f)]
