"""The compiler: a trained aTTQ PyTorch model -> integer program (docs/compiler.md).

Modules: :mod:`.graph` (the model as a chain of stages), :mod:`.calibrate` (activation
scales), :mod:`.lower` (a stage to an engine layer), :mod:`.transformer` (the
CNN-transformer's host ops), :mod:`.compiler` (``compile_model``, ``compile_saved``) and
:mod:`.command` (``attq-fpga compile``). The package imports none of them, so that the
command line's ``--help`` loads no torch.
"""
