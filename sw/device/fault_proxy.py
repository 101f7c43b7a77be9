"""A link that loses and corrupts bytes: for testing the driver's retries.

:class:`FaultProxy` wraps a pyserial-like port and, independently in each direction, drops
a byte with probability ``drop`` and replaces one with a different random byte with
probability ``corrupt`` (both seeded). It has the port's interface, so the driver cannot
tell it from the port.
"""

import numpy as np

__all__ = ["FaultProxy"]


class FaultProxy:
    """A pyserial-like port that damages the bytes passing through it.

    Parameters
    ----------
    port : pyserial-like object
    drop, corrupt : float
        Probability that a byte is dropped / replaced by another value, in each direction
        (``to_device`` and ``from_device`` override them per direction).
    seed : int
    to_device, from_device : (drop, corrupt), optional

    Attributes
    ----------
    enabled : bool
        False passes every byte through unharmed (e.g. while loading a program).
    stats : dict
        Bytes passed, dropped and corrupted, per direction.
    """

    def __init__(self, port, drop=0.0, corrupt=0.0, *, seed=0, to_device=None,
                 from_device=None):
        self.port = port
        self.rates = {"to_device": tuple(to_device or (drop, corrupt)),
                      "from_device": tuple(from_device or (drop, corrupt))}
        for direction, (d, c) in self.rates.items():
            if not (0 <= d <= 1 and 0 <= c <= 1 and d + c <= 1):
                raise ValueError(f"{direction}: drop = {d}, corrupt = {c}: each must be in "
                                 f"[0, 1] and their sum at most 1")
        self.rng = np.random.default_rng(seed)
        self.enabled = True
        self.stats = {d: {"bytes": 0, "dropped": 0, "corrupted": 0} for d in self.rates}

    def _damage(self, data, direction):
        data = bytes(data)
        if not data or not self.enabled:
            return data
        drop, corrupt = self.rates[direction]
        u = self.rng.random(len(data))
        arr = np.frombuffer(data, np.uint8).copy()
        hit = (u >= drop) & (u < drop + corrupt)
        # Adding 1..255 mod 256 always changes the byte.
        arr[hit] = (arr[hit] + self.rng.integers(1, 256, int(hit.sum()))) % 256
        kept = arr[u >= drop]
        st = self.stats[direction]
        st["bytes"] += len(data)
        st["dropped"] += int((u < drop).sum())
        st["corrupted"] += int(hit.sum())
        return kept.tobytes()

    def write(self, data):
        self.port.write(self._damage(data, "to_device"))
        return len(data)

    def read(self, size=1):
        return self._damage(self.port.read(size), "from_device")

    @property
    def in_waiting(self):
        return getattr(self.port, "in_waiting", 0)

    @property
    def timeout(self):
        return getattr(self.port, "timeout", None)

    @timeout.setter
    def timeout(self, value):
        self.port.timeout = value

    def reset_input_buffer(self):
        self.port.reset_input_buffer()

    def close(self):
        self.port.close()

    def __getattr__(self, name):
        # Anything else (baudrate, is_open...) is the port's.
        if name == "port":
            raise AttributeError(name)
        return getattr(self.port, name)
