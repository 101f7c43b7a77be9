"""How a program lands on an engine: the board configurations (:mod:`.boards`), the lane
split and weight words of a layer (:mod:`.hardware_layer`), a whole program's memory image
(:mod:`.engine_image`), row bands (:mod:`.tiling`), the cycle model (:mod:`.cycle_model`),
the counts (:mod:`.counts`) and the device plan with its one placement policy
(:mod:`.plan`).

Modules are imported on demand; none needs torch or amaranth.
"""
