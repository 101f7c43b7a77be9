"""Host side of attq-fpga: quantization, data, compiler, golden model, driver, CLI."""
