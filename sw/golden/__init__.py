"""Golden integer model: numpy references the hardware is checked against bit-exactly."""
