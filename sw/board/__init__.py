"""``attq-fpga board``: build the bitstream, run the virtual board, check a device, and
calibrate the Arty A7's power sense channels."""
