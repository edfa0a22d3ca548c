"""Errors that are the user's to fix: the CLI prints them without a traceback and exits 2."""


class InputError(Exception):
    """Bad user input. `where` names the field or file, `problem` says what is wrong with it."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
