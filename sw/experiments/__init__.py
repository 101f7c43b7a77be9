"""The paper's experiments: Table 2 (methods compared) and the t_min × t_max grid."""

from .grid import PAPER_VALUES, plot_heatmaps, run_grid
from .runner import default_workers, run_tasks
from .table2 import METHODS_ORDER, run_table2

__all__ = ["run_table2", "run_grid", "plot_heatmaps", "run_tasks", "default_workers",
           "METHODS_ORDER", "PAPER_VALUES"]
