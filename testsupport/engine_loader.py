"""What the host writes into a :class:`hw.engine.LayerEngine`: a list of writes, each a
mapping of port name to value, applied one per clock cycle. Used by the amaranth.sim tests
and the cocotb benches alike, so a port is named as in the generated Verilog: ``act_w__addr``
for the ``addr`` of the engine's ``act_w``."""

from sw import spec
from sw.mapping.engine_image import EngineImage

__all__ = ["WRITE_ENABLES", "image_writes", "input_writes", "layer_writes", "layer_registers"]

#: The write-enable ports, all low except during a write.
WRITE_ENABLES = ("weight_w__en", "chan_w__en", "param_w__en", "act_w__en")


def image_writes(image):
    """Writes that load an :class:`EngineImage` (weights, channel tables, parameters)."""
    writes = []
    for k in range(image.lanes):
        for idx, word in enumerate(image.words[k]):
            writes.append({"weight_w__lane": k, "weight_w__addr": idx, "weight_w__en": 1,
                           "weight_w__data": spec.pack_fields(spec.WEIGHT_WORD_FIELDS, word)})
        for idx, chan in enumerate(image.channels[k]):
            writes.append({"chan_w__lane": k, "chan_w__addr": idx, "chan_w__data": chan,
                           "chan_w__en": 1})
    for idx, p in enumerate(image.params):
        writes.append({"param_w__addr": idx, "param_w__en": 1,
                       "param_w__data": spec.pack_fields(spec.PARAM_WORD_FIELDS, p)})
    return writes


def input_writes(base, x):
    """Writes that put the int8 map ``x`` at ``base`` in the activation memory."""
    return [{"act_w__addr": base + idx, "act_w__data": int(v), "act_w__en": 1}
            for idx, v in enumerate(x.reshape(-1))]


def layer_writes(layer, lanes, x, *, width, skip_zeros=True):
    """Writes that load one HardwareLayer and its input for ``lanes`` lanes of ``width``;
    returns ``(writes, image)``."""
    image = EngineImage.build([layer], lanes, width=width, skip_zeros=skip_zeros)
    return image_writes(image) + input_writes(layer.in_base, x), image


def layer_registers(image, index):
    """``(cfg, lane_cfg)`` register values for layer ``index`` of ``image``."""
    layer = image.layers[index]
    return layer["cfg"], layer["lane_cfg"]
