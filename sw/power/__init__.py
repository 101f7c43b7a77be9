"""Host side of the energy measurement: XADC scale factors and run energy."""
