"""Training: Table 1 settings, the trainer, and one repetition of the paper's protocol."""

from .noam import noam_factor, noam_scheduler
from .pipeline import TASK_DEFAULTS, load_dataset, run_repetition
from .settings import DATASET_PRESET, TABLE1, THRESHOLDS, TrainConfig, table1
from .trainer import class_weights, fit, predict, seed_everything

__all__ = ["TrainConfig", "table1", "TABLE1", "THRESHOLDS", "DATASET_PRESET", "fit",
           "predict", "class_weights", "seed_everything", "noam_factor", "noam_scheduler",
           "run_repetition", "load_dataset", "TASK_DEFAULTS"]
