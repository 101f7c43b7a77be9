"""cocotb benches of the RTL (collected by ``pytest sim/``) and their helpers."""
