"""``attq-fpga infer``: the whole path from a recording to classes, latency and energy.

- :mod:`sw.infer.inputs`: the recording (front end, TFR) or ESR CSV -> model inputs, truth;
- :mod:`sw.infer.device`: opening the device through the host driver (:mod:`sw.device`);
- :mod:`sw.infer.classify`: one inference per item, failures kept as rows;
- :mod:`sw.infer.report`: rows, CSV/JSON, table, summary (accuracy, MCC);
- :mod:`sw.infer.energy`: estimated (Eq. 3) against measured/simulated and full precision;
- :mod:`sw.infer.html_report`: the self-contained HTML report of a run, and a batch's index;
- :mod:`sw.infer.pipeline`: the steps of a run (program, inputs, result files);
- :mod:`sw.infer.command`: the sub-command;
- :mod:`sw.infer.batch`: the sub-command on a folder of recordings, over several devices.
"""

__all__ = ["command", "pipeline", "inputs", "device", "classify", "report", "energy",
           "html_report", "batch"]
