"""The integer program the engine runs: IR (:mod:`.ir`) and file format (:mod:`.file`).

See docs/program-format.md for the file and docs/compiler.md for the contract between the
compiler, the golden model and the engine RTL.
"""

from .file import MAGIC, content_hash, file_hash, from_bytes, load, save, to_bytes
from .ir import HOST_OP_ARRAYS, HOST_OP_KINDS, MODES, EngineLayer, HostOp, Program, offsets_from_weights
from .transform import InputTransform

__all__ = ["EngineLayer", "HostOp", "Program", "HOST_OP_KINDS", "HOST_OP_ARRAYS", "MODES",
           "offsets_from_weights", "MAGIC", "save", "load", "to_bytes", "from_bytes",
           "file_hash", "content_hash", "InputTransform"]
