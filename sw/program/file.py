"""The program file (``.attq``): magic, spec version, content hash, JSON header, arrays.

Layout (all integers little-endian; docs/program-format.md describes every field)::

    offset  size  field
    0       8     magic  b"ATTQPRG\\0"
    8       4     u32    program file version (= sw.spec.PROGRAM_FILE_VERSION)
    12      8     u64    payload length L in bytes
    20      32    sha256 of the payload (the program's content hash)
    52      L     payload:
                    u32 J     length of the JSON header
                    J bytes   JSON header (UTF-8, sorted keys, no whitespace)
                    zero padding to a multiple of 8 bytes (from the payload start)
                    array blob: every array, each starting at a multiple of 8

The JSON header refers to arrays as ``{"dtype": "<i4", "shape": [n], "offset": k}``, the
offset counted from the blob start. Nothing follows the payload. Engine layers store
integer arrays; host ops with weights (the CNN-transformer's float tail) store ``"<f8"``
arrays under their ``"arrays"`` key, which is absent for host ops without weights, so
programs without such ops have exactly the payload (and hash) of the first format version.
Version 2 (``sw.spec.PROGRAM_FILE_VERSION``, apart from the device's integer-contract
``FORMAT_VERSION``) added the model's input transform in ``meta["input_transform"]``,
checked here when a file is read; a version 1 file is refused with a message that says to
recompile it.
"""

import hashlib
import json
import math
import struct
from pathlib import Path

import numpy as np

from .. import spec
from ..atomic import write_bytes
from ..errors import InputError
from ..file_kinds import wrong_kind_message
from .epilogue import DualScaleParams
from .ir import HOST_OP_KINDS, EngineLayer, HostOp, Program
from .transform import InputTransform

__all__ = ["MAGIC", "HEADER_SIZE", "encode_payload", "to_bytes", "from_bytes", "save", "load",
           "file_hash", "content_hash"]

#: Dtype of a host op's float arrays.
HOST_ARRAY_DTYPE = "<f8"

#: First 8 bytes of every program file.
MAGIC = b"ATTQPRG\x00"
_PREFIX = struct.Struct("<8sIQ32s")
#: Bytes before the payload.
HEADER_SIZE = _PREFIX.size

# Array fields of an engine layer and the dtype each is stored with.
_ARRAYS = (
    ("plus_ptr", "<u4"), ("plus_off", "<u4"), ("minus_ptr", "<u4"), ("minus_off", "<u4"),
    ("values", "<i1"),
    ("m_r", "<i2"), ("m_l", "<i2"), ("bias", "<i8"), ("shift", "<u1"),
)


class _Blob:
    def __init__(self):
        self.parts, self.size = [], 0

    def add(self, arr, dtype):
        a = np.ascontiguousarray(np.asarray(arr).astype(dtype, casting="unsafe"))
        if dtype == HOST_ARRAY_DTYPE:
            if not np.array_equal(a, np.asarray(arr, dtype=np.float64)):
                raise ValueError(f"array does not fit {dtype}")
        elif not np.array_equal(a.astype(np.int64), np.asarray(arr).astype(np.int64)):
            raise ValueError(f"array does not fit {dtype}")
        ref = {"dtype": dtype, "shape": list(a.shape), "offset": self.size}
        data = a.tobytes()
        self.parts.append(data + b"\0" * (-len(data) % 8))
        self.size += len(self.parts[-1])
        return ref

    def bytes(self):
        return b"".join(self.parts)


def _layer_header(layer, blob):
    ep = layer.epilogue
    arrays = dict(plus_ptr=layer.plus_ptr, plus_off=layer.plus_off,
                  minus_ptr=layer.minus_ptr, minus_off=layer.minus_off, values=layer.values,
                  m_r=ep.m_r, m_l=ep.m_l, bias=ep.bias, shift=ep.shift)
    return {
        "type": "engine", "name": layer.name, "mode": layer.mode,
        "in_shape": list(layer.in_shape), "pad": list(layer.pad),
        "kernel": list(layer.kernel), "stride": list(layer.stride),
        "out_channels": layer.out_channels, "pool": list(layer.pool),
        "out_pad": list(layer.out_pad), "act": int(ep.act), "slope": int(ep.slope),
        "in_scale": layer.in_scale, "out_scale": layer.out_scale,
        "arrays": {k: blob.add(arrays[k], dt) for k, dt in _ARRAYS},
    }


def encode_payload(program):
    """The payload bytes of ``program`` (deterministic: the same program, the same bytes)."""
    blob = _Blob()
    ops = []
    for op in program.ops:
        if isinstance(op, EngineLayer):
            ops.append(_layer_header(op, blob))
        else:
            h = {"type": "host", "name": op.name, "kind": op.kind, "params": op.params}
            if op.arrays:
                h["arrays"] = {k: blob.add(v, HOST_ARRAY_DTYPE) for k, v in op.arrays.items()}
            ops.append(h)
    header = {"input_shape": list(program.input_shape), "classes": program.classes,
              "meta": program.meta, "ops": ops, "blob_size": blob.size}
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)
    hj = text.encode("utf-8")
    head = struct.pack("<I", len(hj)) + hj
    head += b"\0" * (-len(head) % 8)
    return head + blob.bytes()


def to_bytes(program):
    """The whole file content of ``program``."""
    payload = encode_payload(program)
    return _PREFIX.pack(MAGIC, spec.PROGRAM_FILE_VERSION, len(payload),
                        hashlib.sha256(payload).digest()) + payload


def _field(where, d, key, kind=None):
    if not isinstance(d, dict) or key not in d:
        raise InputError(f"{where}: field {key!r} is missing (corrupted program)")
    v = d[key]
    if kind is not None and not isinstance(v, kind):
        raise InputError(f"{where}: field {key!r} has the wrong type "
                         f"({type(v).__name__}) (corrupted program)")
    return v


def _array(where, ref, blob, name, dtype):
    if not isinstance(ref, dict):
        raise InputError(f"{where}: array {name!r} is missing (corrupted program)")
    if ref.get("dtype") != dtype:
        raise InputError(f"{where}: array {name!r} has dtype {ref.get('dtype')!r}, "
                         f"expected {dtype!r} (corrupted program)")
    shape, offset = ref.get("shape"), ref.get("offset")
    if not (isinstance(shape, list) and all(_is_size(s) for s in shape) and _is_size(offset)):
        raise InputError(f"{where}: array {name!r} has a bad shape or offset "
                         f"(corrupted program)")
    # Python integers: numpy's product of a damaged shape can overflow to 0 and pass.
    count = math.prod(shape)
    n = count * np.dtype(dtype).itemsize
    if offset + n > len(blob):
        raise InputError(f"{where}: array {name!r} runs past the end of the data "
                         f"({offset} + {n} > {len(blob)}) (corrupted program)")
    try:
        a = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
    except ValueError as exc:
        raise InputError(f"{where}: array {name!r} has shape {shape} ({exc}) "
                         f"(corrupted program)") from None
    return a.astype(np.float64) if dtype == HOST_ARRAY_DTYPE else a.astype(np.int64)


def _is_size(v):
    # bool is an int to Python but not a size to numpy; 2^31 and more fits no program.
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31


def _decode_layer(where, h, blob):
    refs = _field(where, h, "arrays", dict)
    a = {k: _array(where, refs.get(k), blob, k, dt) for k, dt in _ARRAYS}
    for k in ("plus_ptr", "plus_off", "minus_ptr", "minus_off", "values"):
        if a[k].ndim != 1:
            raise InputError(f"{where}: array {k!r} has shape {list(a[k].shape)}; expected "
                             f"a list (1-D) (corrupted program)")
    try:
        epilogue = DualScaleParams(a["m_r"], a["m_l"], a["bias"], a["shift"],
                                   _field(where, h, "act"), _field(where, h, "slope"),
                                   channels=_field(where, h, "out_channels", int))
        return EngineLayer(
            name=_field(where, h, "name", str), mode=_field(where, h, "mode", str),
            in_shape=_field(where, h, "in_shape", list), pad=_field(where, h, "pad", list),
            kernel=_field(where, h, "kernel", list), stride=_field(where, h, "stride", list),
            out_channels=_field(where, h, "out_channels", int),
            plus_ptr=a["plus_ptr"], plus_off=a["plus_off"], minus_ptr=a["minus_ptr"],
            minus_off=a["minus_off"], values=a["values"], epilogue=epilogue,
            pool=_field(where, h, "pool", list), out_pad=_field(where, h, "out_pad", list),
            in_scale=_field(where, h, "in_scale", (int, float)),
            out_scale=_field(where, h, "out_scale", (int, float)))
    # The constructors check values (ValueError); a field of the wrong type (a null for a
    # size) or an absurd size fails in int() or in numpy's int64 arithmetic instead.
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{where}: {exc} (corrupted program)") from None


def from_bytes(data, source="<bytes>"):
    """Parse a program file's content; raise :class:`InputError` saying what is wrong.

    The checks run in this order, so the message names the first problem: wrong magic
    (not a program file; a file of a kind :mod:`sw.file_kinds` recognises, a trained
    model for one, is named as such with the next step), wrong format version, truncated
    file, trailing bytes, content hash mismatch (corrupted), then malformed header or
    arrays.
    """
    data = bytes(data)
    n = len(data)
    if data[:len(MAGIC)] != MAGIC[:min(n, len(MAGIC))] or n == 0:
        # A file of another kind (most often the trained .pt) is named as such, with the
        # step that makes a program of it; only an unknown content gets the bare magic.
        other = wrong_kind_message(source, data, "program")
        if other is not None:
            raise InputError(other)
        raise InputError(f"{source}: wrong magic {data[:8]!r}: expected {MAGIC!r} "
                         f"(not an attq-fpga program file)")
    if n < HEADER_SIZE:
        raise InputError(f"{source}: truncated: {n} bytes, shorter than the "
                         f"{HEADER_SIZE}-byte file header")
    _, version, length, digest = _PREFIX.unpack_from(data)
    if version != spec.PROGRAM_FILE_VERSION:
        why = (" (from version 2 on, a program records its model's input transform)"
               if version < spec.PROGRAM_FILE_VERSION else "")
        raise InputError(f"{source}: wrong format version {version}: this software reads "
                         f"program files of version {spec.PROGRAM_FILE_VERSION}{why}; "
                         f"recompile the model with `attq-fpga compile MODEL.pt -o "
                         f"{source}`")
    if n < HEADER_SIZE + length:
        raise InputError(f"{source}: truncated: the header announces {length} payload bytes, "
                         f"the file holds {n - HEADER_SIZE}")
    if n > HEADER_SIZE + length:
        raise InputError(f"{source}: corrupted: {n - HEADER_SIZE - length} bytes after the "
                         f"{length}-byte payload")
    payload = data[HEADER_SIZE:]
    if hashlib.sha256(payload).digest() != digest:
        raise InputError(f"{source}: corrupted: the content hash (sha256) does not match "
                         f"the payload")
    try:
        (jlen,) = struct.unpack_from("<I", payload)
        header = json.loads(payload[4:4 + jlen].decode("utf-8"))
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{source}: corrupted: unreadable JSON header ({exc})") from None
    start = 4 + jlen + (-(4 + jlen) % 8)
    blob = payload[start:]
    if not isinstance(header, dict) or header.get("blob_size") != len(blob):
        raise InputError(f"{source}: corrupted: field 'blob_size' does not match the data")
    ops = []
    for i, h in enumerate(_field(source, header, "ops", list)):
        where = f"{source}: op {i}"
        typ = _field(where, h, "type", str)
        if typ == "engine":
            ops.append(_decode_layer(where, h, blob))
        elif typ == "host":
            kind = _field(where, h, "kind", str)
            if kind not in HOST_OP_KINDS:
                raise InputError(f"{where}: field 'kind' = {kind!r} is not a host operation "
                                 f"this software knows ({', '.join(sorted(HOST_OP_KINDS))}); "
                                 f"the program needs a newer attq-fpga or is corrupted")
            refs = h.get("arrays", {})
            if not isinstance(refs, dict):
                raise InputError(f"{where}: field 'arrays' has the wrong type "
                                 f"({type(refs).__name__}) (corrupted program)")
            arrays = {k: _array(where, r, blob, k, HOST_ARRAY_DTYPE) for k, r in refs.items()}
            try:
                ops.append(HostOp(kind, _field(where, h, "params", dict),
                                  _field(where, h, "name", str), arrays))
            except (ValueError, TypeError, OverflowError) as exc:
                if isinstance(exc, InputError):
                    raise
                raise InputError(f"{where}: {exc} (corrupted program)") from None
        else:
            raise InputError(f"{where}: field 'type' = {typ!r}: expected 'engine' or 'host'")
    meta = _field(source, header, "meta", dict)
    if "engine" in meta:
        engine = meta["engine"]
        if (not isinstance(engine, dict) or set(engine) != {"lanes", "width"}
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                           for v in engine.values())):
            raise InputError(f"{source}: field 'meta.engine' = {engine!r}: expected "
                             f"{{\"lanes\": P, \"width\": V}} with positive integers")
    if "input_transform" in meta:
        InputTransform.from_dict(meta["input_transform"],
                                 f"{source}: field 'meta.input_transform'")
    input_shape = _field(source, header, "input_shape", list)
    if not input_shape or not all(_is_size(v) and v > 0 for v in input_shape):
        raise InputError(f"{source}: field 'input_shape' = {input_shape!r}: expected "
                         f"positive integers (corrupted program)")
    classes = _field(source, header, "classes", list)
    if not all(isinstance(c, str) for c in classes):
        raise InputError(f"{source}: field 'classes' = {classes!r}: expected class names "
                         f"(corrupted program)")
    try:
        return Program(input_shape=input_shape, ops=ops, classes=classes, meta=meta)
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{source}: {exc} (corrupted program)") from None


def save(program, path):
    """Write ``program`` to ``path`` atomically; return its content hash (hex)."""
    data = to_bytes(program)
    write_bytes(path, data)
    return data[20:52].hex()


def load(path):
    """Read a program file; raise :class:`InputError` naming the file and the problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such program file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the program file ({exc.strerror})") from None
    return from_bytes(data, str(path))


def file_hash(path):
    """The content hash stored in a program file's header (hex), without full checks."""
    return Path(path).read_bytes()[20:52].hex()


def content_hash(program):
    """sha256 (hex) of ``program``'s payload as :func:`save` writes it: the hash a file of
    it carries in its header (:func:`file_hash`)."""
    return hashlib.sha256(encode_payload(program)).hexdigest()
