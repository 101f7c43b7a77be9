"""The ``attq-fpga export`` command: saved model -> QONNX (docs/qonnx.md).

::

    attq-fpga export MODEL.pt -o model.onnx [--check-samples 16] [--data PATH]

Before any work the model file is read and ``-o`` is checked to be writable. The export is
then run under qonnx's executor on ``--check-samples`` test inputs of the model's data set
(as ``train`` splits it; ``--data`` for ESR and recorded HITS data) and compared with
PyTorch's outputs; a difference beyond float rounding is an error and nothing is written.
"""

__all__ = ["register", "run", "TOLERANCE"]

#: The largest difference between PyTorch's and qonnx's outputs that counts as float
#: rounding, relative to the largest output magnitude.
TOLERANCE = 1e-4


def register(subparsers):
    """Add ``export`` to the ``attq-fpga`` parser."""
    p = subparsers.add_parser(
        "export", help="write a trained model as QONNX (FINN, hls4ml)",
        description="Write the saved model as QONNX: PyTorch's ONNX export, each ternary "
                    "layer as two Quant-weighted branches that FINN and hls4ml fold "
                    "(docs/qonnx.md); checked against PyTorch on test data before it is "
                    "written.")
    p.add_argument("model", help="saved model file (docs/model-format.md)")
    p.add_argument("-o", "--out", required=True, help="QONNX file to write (.onnx)")
    p.add_argument("--check-samples", type=int, default=16,
                   help="test inputs on which qonnx's executor must match PyTorch "
                        "(default 16; 0 skips the check and the data set)")
    p.add_argument("--data", help="data file/folder of the model's data set (ESR, HITS)")
    p.set_defaults(func=run)


def run(args):
    """Export ``args.model`` to ``args.out``; print the check and the graph's operators."""
    import collections
    from pathlib import Path

    import torch

    from ..atomic import check_output, write_bytes
    from ..errors import InputError
    from ..models import load_model
    from .qonnx_export import check_export, export_qonnx

    torch.set_num_threads(1)
    if args.check_samples < 0:
        raise InputError(f"--check-samples: expected >= 0, got {args.check_samples}")
    if Path(args.out).resolve() == Path(args.model).resolve():
        raise InputError(f"-o {args.out}: that is the model file itself; nothing written")
    model, rec = load_model(args.model)
    check_output(args.out, what=f"-o {args.out}")
    inputs = _test_inputs(args, rec) if args.check_samples else None
    try:
        proto = export_qonnx(model, rec)
    except ValueError as exc:
        raise InputError(f"{args.model}: cannot export: {exc}; nothing written") from None
    if inputs is not None:
        diff, scale = check_export(model, proto, inputs)
        if diff > TOLERANCE * max(scale, 1.0):
            raise InputError(
                f"{args.model}: the QONNX graph differs from PyTorch by up to {diff:.3g} on "
                f"{len(inputs)} test inputs (tolerance {TOLERANCE:g} x {max(scale, 1.0):.3g}); "
                f"nothing written")
        print(f"qonnx executor vs PyTorch on {len(inputs)} test inputs: largest difference "
              f"{diff:.3g} (outputs up to {scale:.3g})")
    ops = collections.Counter(node.op_type for node in proto.graph.node)
    print("operators: " + ", ".join(f"{op} {n}" for op, n in sorted(ops.items())))
    print(f"ternary layers in two branches: "
          f"{', '.join(rec['quantized_layers']) or 'none (a full-precision model)'}")
    write_bytes(args.out, proto.SerializeToString())
    print(f"wrote {args.out}")
    return 0


def _test_inputs(args, rec):
    """The first ``--check-samples`` test inputs of the model's data set, transformed."""
    from ..errors import InputError
    from ..train.pipeline import load_dataset

    dataset = (rec.get("data") or {}).get("dataset")
    if dataset is None:
        raise InputError(f"{args.model}: field 'data.dataset' is missing, so there is no "
                         f"test data to check the export on; pass --check-samples 0")
    try:
        split = load_dataset(dataset, transform=rec["input_transform"],
                             seed=int((rec.get("training") or {}).get("settings", {})
                                      .get("seed", 0)), data_path=args.data)
    except InputError as exc:
        raise InputError(f"{exc} (the test data to check the export on; or pass "
                         f"--check-samples 0 to export without the check)") from None
    return split.x_test[:args.check_samples]
