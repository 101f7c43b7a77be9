"""The one exception type for bad user input."""

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input from the user: a file, a field or an argument that is not what is expected.

    The message names the file (or argument), the field and what was expected. The CLI
    prints it without a traceback and exits with status 2.
    """
