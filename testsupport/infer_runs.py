"""Reading the files of two ``attq-fpga infer`` runs that must agree (an interrupted and
resumed run against an uninterrupted one) for comparison: everything but what
:data:`sw.infer.report.RUN_VARYING` names."""

import csv
import json

from sw.infer.report import comparable

__all__ = ["comparable_json", "csv_without_timing"]


def comparable_json(path):
    """The JSON file at ``path`` without the fields two equal runs may differ in."""
    with open(path, encoding="utf-8") as f:
        return comparable(json.load(f))


def csv_without_timing(path):
    """The CSV's rows as dicts, without the wall time column."""
    with open(path, newline="", encoding="utf-8") as f:
        return comparable(list(csv.DictReader(f)))
