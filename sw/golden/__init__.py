"""Reference implementations the hardware and the mapping are checked against: the golden
executor (:mod:`.executor`), the dual-scale contract (:mod:`.dual_scale`), plain-loop
layers (:mod:`.reference`) and the golden protocol device (:mod:`.device`).

The product runs none of it, except where a user asks for the golden device by name
(``--device golden``).
"""
