"""Errors the user can fix. The CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """A problem with the user's input (a file, a config key, a name), never a bug in the suite.

    The message must be one line that names the problem and, where possible, the way out.
    """


class DataError(UserError):
    """A malformed or missing data file. The message names the file and, where known, the line."""

    def __init__(self, path: object, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
