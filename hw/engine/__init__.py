"""The ternary sparse engine: lanes, the shared epilogue, and the layer engine around them."""
