"""``attq-fpga infer``: the whole path from a recording to classes, latency and energy.

- :mod:`sw.infer.inputs`: the recording (front end, TFR) or ESR CSV -> model inputs, truth;
- :mod:`sw.infer.device`: opening the device through the host driver (:mod:`sw.device`);
- :mod:`sw.infer.classify`: one inference per item, failures kept as rows;
- :mod:`sw.infer.report`: rows, CSV/JSON, table, summary (accuracy, MCC);
- :mod:`sw.infer.energy`: estimated (Eq. 3) against measured/simulated and full precision;
- :mod:`sw.infer.command`: the sub-command.
"""

__all__ = ["command", "inputs", "device", "classify", "report", "energy"]
