"""Compile a trained (quantized) PyTorch model into an integer program.

Steps: read the model as a chain of stages (:mod:`.graph`), calibrate one activation scale
per tensor between stages on training data (:mod:`.calibrate`), lower each stage to an
engine layer with batch norm folded (:mod:`.lower`), and wrap the chain in host ops: input
quantization before it, dequantization and (log-)softmax after it.
"""

import numpy as np

from ..errors import InputError
from ..program import HostOp, Program
from .calibrate import calibrate, calibration_batch
from .graph import extract_stages
from .lower import lower_chain

__all__ = ["compile_model", "compile_saved", "compile_qonnx", "calibration_inputs"]


def compile_model(model, x_cal, *, records=None, calibration="max", percentile=99.99,
                  classes=(), meta=None, batch_size=256):
    """Compile ``model`` (eval mode is used) with calibration inputs ``x_cal``.

    Parameters
    ----------
    model : torch.nn.Module
        A chain of Conv1d/Conv2d/Linear layers with batch norm, ReLU/LeakyReLU, max
        pooling, dropout, flatten and a final (log-)softmax; or a
        :class:`sw.models.cnn_transformer.CNNTransformer` (conv front on the engine, the
        rest host ops: :mod:`.transformer`).
    x_cal : array_like
        Calibration inputs (training samples), ``[B, *input_shape]``.
    records : dict, optional
        ``{layer name: export}`` of the ternary layers (:func:`sw.quant.export_quantized`,
        or a saved model's ``quantized_layers``); default: exported from ``model``.
    calibration : {"max", "percentile"}
    percentile : float
    classes : list of str
    meta : dict, optional
        Recorded in the program (information only).

    Returns
    -------
    Program
    """
    from ..models.cnn_transformer import CNNTransformer

    if isinstance(model, CNNTransformer):
        # Attention and layer norm are host ops: the documented CNN-transformer lowering.
        from .transformer import compile_cnn_transformer
        return compile_cnn_transformer(model, x_cal, records=records, calibration=calibration,
                                       percentile=percentile, classes=classes, meta=meta,
                                       batch_size=batch_size)
    x_cal, records = calibration_batch(model, x_cal, records)
    was = model.training
    model.eval()
    try:
        stages, tail = extract_stages(model, x_cal[:4])
        unknown = sorted(set(records) - {s.name for s in stages})
        if unknown:
            raise InputError(f"quantized layers {unknown} are not engine layers of the model")
        cal = calibrate(stages, x_cal, method=calibration, percentile=percentile,
                        batch_size=batch_size)
    finally:
        model.train(was)
    layers = lower_chain(stages, cal, records)
    first = layers[0]
    ops = []
    ops.append(HostOp("quantize", dict(scale=cal["s_in"], map_shape=list(first.in_shape),
                                       pad=list(first.pad)), name="input"))
    ops.extend(layers)
    ops.append(HostOp("dequantize", dict(scale=cal["s_out"][-1]), name="logits"))
    for t in tail:
        ops.append(HostOp(t))
    info = dict(meta or {})
    info.update(calibration=dict(method=calibration, samples=int(len(x_cal)),
                                 percentile=percentile if calibration == "percentile" else None,
                                 thresholds=cal["thresholds"], maxima=cal["maxima"]),
                stages=[dict(name=s.name, kind=s.kind, bn=s.bn is not None,
                             act=s.act.name, slope=s.slope, pool=list(s.pool),
                             ternary=s.name in records) for s in stages])
    return Program(input_shape=tuple(x_cal.shape[1:]), ops=ops, classes=list(classes),
                   meta=info)


def calibration_inputs(x_train, n, seed=0):
    """``n`` training inputs drawn without replacement with ``seed`` (all if fewer)."""
    x_train = np.asarray(x_train)
    if n is None or n >= len(x_train):
        return x_train
    idx = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:n])
    return x_train[idx]


def compile_saved(path, *, x_train=None, data_path=None, calibration="max",
                  percentile=99.99, n_calibration=512, seed=0):
    """Compile a saved model file (docs/model-format.md).

    Calibration inputs are ``n_calibration`` samples of ``x_train`` when given (model
    inputs, already transformed), else of the training split of the data set the model
    records (``data.dataset``), loaded as the training pipeline loads it (``data_path`` for
    ESR and HITS) through the model's recorded input transform. The program records that
    transform in ``meta["input_transform"]`` (docs/program-format.md), where
    ``attq-fpga infer`` reads it.

    Returns
    -------
    (Program, torch.nn.Module, dict)
        The program, the deployed model and its record.
    """
    from ..models import load_model

    model, rec = load_model(path)
    data = rec.get("data") or {}
    transform = rec["input_transform"]       # checked (or implied) by read_record
    if x_train is None:
        from ..train.pipeline import load_dataset
        dataset = data.get("dataset")
        if dataset is None:
            raise InputError(f"{path}: field 'data.dataset' is missing: pass calibration "
                             f"data explicitly")
        split = load_dataset(dataset, transform=transform,
                             seed=int((rec.get("training") or {}).get("settings", {})
                                      .get("seed", 0)), data_path=data_path)
        x_train = split.x_train
    x_cal = calibration_inputs(x_train, n_calibration, seed)
    meta = dict(source=str(path), arch=rec["arch"], preset=rec.get("preset"),
                quant=rec.get("quant"), dataset=data.get("dataset"),
                input_transform=transform)
    prog = compile_model(model, x_cal, records=rec["quantized_layers"],
                         calibration=calibration, percentile=percentile,
                         classes=data.get("classes") or [], meta=meta)
    return prog, model, rec


def compile_qonnx(path, *, inputs, x_train=None, data_path=None, calibration="max",
                  percentile=99.99, n_calibration=512, seed=0, allow_fp=False):
    """Compile a QONNX file (:func:`sw.interchange.qonnx_import.read_qonnx`: its ternary
    layers stay ternary, the others become int8).

    A QONNX file says nothing of the data it takes, so ``inputs`` names the preset whose
    data set and input transform it was trained on (``sw.models.registry.PRESET_INPUTS``);
    calibration draws ``n_calibration`` training samples of that data set (or of
    ``x_train``, model inputs already transformed), and the program records the transform
    for ``attq-fpga infer``. A model without a ternary layer is refused (before the data
    set is loaded) unless ``allow_fp``.

    Returns
    -------
    (Program, QonnxModel)
    """
    from ..interchange.qonnx_import import read_qonnx
    from ..models.registry import PRESET_INPUTS

    if inputs not in PRESET_INPUTS:
        raise InputError(f"--inputs: expected one of {', '.join(sorted(PRESET_INPUTS))} (the "
                         f"preset whose data set and input transform the model takes), got "
                         f"{inputs!r}")
    dataset, transform = PRESET_INPUTS[inputs]
    read = read_qonnx(path)
    if not read.records and not allow_fp:
        raise InputError(f"{path}: no layer of this model has ternary weights (a 2-bit "
                         f"signed narrow-range Quant, or the two branches of docs/qonnx.md); "
                         f"pass --allow-fp to compile it into an all-int8 program anyway; "
                         f"nothing written")
    classes = []
    if x_train is None:
        from ..train.pipeline import load_dataset
        split = load_dataset(dataset, transform=transform, seed=seed, data_path=data_path)
        x_train, classes = split.x_train, split.classes
    if tuple(np.shape(x_train)[1:]) != tuple(read.model.sample_shape):
        raise InputError(f"{path}: input shape {list(read.model.sample_shape)}, but --inputs "
                         f"{inputs} gives inputs of shape {list(np.shape(x_train)[1:])}; "
                         f"nothing written")
    meta = dict(source=str(path), arch="qonnx", preset=None, quant=None, dataset=dataset,
                input_transform=transform.to_dict())
    prog = compile_model(read.model, calibration_inputs(x_train, n_calibration, seed),
                         records=read.records, calibration=calibration,
                         percentile=percentile, classes=classes, meta=meta)
    return prog, read
