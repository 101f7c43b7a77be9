"""Training: Table 1 settings (:mod:`.settings`), the trainer (:mod:`.trainer`), the Noam
schedule (:mod:`.noam`), one repetition of the paper's protocol (:mod:`.pipeline`) and
``attq-fpga train`` (:mod:`.command`). The package imports none of them, so that the
command line's ``--help`` loads no torch.
"""
