"""Errors the user can fix. The CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """A problem with the user's input (a file, a config key, a name), never a bug in the suite.

    The message must be one line that names the problem and, where possible, the way out.
    """

    def __reduce__(self) -> tuple:
        """Pickled as its class, message and attributes, whatever its constructor takes, so that an error raised in
        a worker process (Ray) comes back to the driver as itself: Python's default calls the constructor with
        the message alone, which a subclass with other parameters (DataError) cannot take."""
        return (_restored, (type(self), self.args, self.__dict__))


def _restored(kind: type[UserError], args: tuple, state: dict) -> UserError:
    """The error `UserError.__reduce__` pickled, rebuilt without calling its constructor."""
    error = kind.__new__(kind, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class DataError(UserError):
    """A malformed or missing data file. The message names the file and, where known, the line."""

    def __init__(self, path: object, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


def cut(text: str, limit: int = 80) -> str:
    """`text` as a message shows it: at most `limit` characters, the rest replaced by '…'."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: object, limit: int = 80) -> str:
    """A value as a message shows it: its repr, cut to `limit` characters (a huge value is never written out
    whole: reprlib stops early)."""
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = limit
    short.maxlevel = 3
    return cut(short.repr(value), limit)
