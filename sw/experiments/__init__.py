"""The paper's experiments: Table 2 (methods compared, :mod:`.table2`) and the
t_min × t_max grid (:mod:`.grid`), run locally or on Ray (:mod:`.runner`), reported by
:mod:`.report`; :mod:`.cli` is ``attq-fpga experiment``. The package imports none of them,
so that the command line's ``--help`` loads no torch.
"""
