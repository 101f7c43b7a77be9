"""Transcranial Doppler recordings: file format, simulator, HITS front end, data set writer.

Modules: :mod:`.recording` (read/write/check recordings and truth CSVs), :mod:`.params`
(simulator parameters with their sources), :mod:`.simulator`, :mod:`.detector` (the HITS
front end), :mod:`.dataset` (``data make hits``), :mod:`.from_recordings` (``data
from-recordings``), :mod:`.spectrogram` (PNG), :mod:`.commands` (the CLI sub-commands).
"""
