"""Energy measurement hardware: the XADC reader, its simulation model and the power meter."""
