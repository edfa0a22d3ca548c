"""Errors a user sees: their own mistakes (InputError, exit 2) and stored files that cannot be read (exit 1),
both printed by the CLI as one line naming the field or file, never a traceback."""


class InputError(Exception):
    """Bad user input. `where` names the field or file, `problem` says what is wrong with it."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class StoredDataError(Exception):
    """A file the platform stored cannot be read (corrupt, truncated, missing). Not the user's mistake: the job
    or command that read it fails, and `path` names the file."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
