"""cocotb benches of the RTL, collected by ``pytest sim/``; the helpers they share with the
tests live in :mod:`testsupport`."""
