"""Quantization configuration: which method, its hyperparameters, which layers."""

from dataclasses import asdict, dataclass, field

__all__ = ["QuantConfig", "METHODS"]

#: Quantization methods: full precision, DoReFa binary, TTQ and aTTQ.
METHODS = ("fp", "dorefa", "ttq", "attq")


@dataclass
class QuantConfig:
    """What to quantize and how.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    layers : list of str
        Names (``model.named_modules()``) of the layers whose ``weight`` is quantized;
        empty means the model's default list (the paper's Hessian-based selection).
    t_min, t_max : float
        aTTQ thresholds (Eq. 1).
    t : float
        TTQ threshold factor.
    pruned_grad : str
        aTTQ gradient in the pruned band: ``"code"`` (1·g, default) or ``"paper"`` (0).
    init_scales : str
        ``"mean"`` (sign-correct region means, default), ``"unit"`` (the authors' unit
        magnitudes, sign-correct: aTTQ (1, -1), TTQ (1, 1)) or ``"code"`` ((1, 1) as the
        authors' code, a sign flip for aTTQ).
    ttq_normalize : bool
        TTQ's ternary values divided by their largest magnitude at every step, as the
        authors' TTQ experiments (:class:`sw.quant.TTQQuantizer`).
    dorefa_per_channel : bool
        DoReFa scale per output filter instead of per layer.
    """

    method: str = "fp"
    layers: list = field(default_factory=list)
    t_min: float = -1.0
    t_max: float = 0.5
    t: float = 0.05
    pruned_grad: str = "code"
    init_scales: str = "mean"
    ttq_normalize: bool = False
    dorefa_per_channel: bool = False

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"quantization method must be one of {METHODS}, "
                             f"not {self.method!r}")
        if self.method == "attq" and self.t_min > self.t_max:
            raise ValueError(f"aTTQ needs t_min <= t_max, got t_min = {self.t_min} > "
                             f"t_max = {self.t_max}")
        self.layers = list(self.layers)

    def to_dict(self):
        """Plain dict (JSON- and ``torch.load(weights_only=True)``-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**d)
