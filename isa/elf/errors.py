"""The one exception the J1 ELF writer and reader raise."""

from __future__ import annotations


class ElfError(ValueError):
    """A program that cannot be written, or an ELF image that cannot be loaded.

    The message is one line naming what is wrong and where; untrusted names in it are quoted
    with repr() so a hostile file cannot break the line.
    """
