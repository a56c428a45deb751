"""Domain errors. Each message says what is wrong and what to do; the CLI and UI show it as is."""


class QAError(Exception):
    """Base of every error a user can fix; `exit_code` is what the CLI exits with."""

    exit_code = 1


class BadInputError(QAError):
    """A file, folder, question or setting that cannot be used."""

    exit_code = 2


class DependencyMissingError(QAError):
    """A Python package a reader or feature needs is not installed."""

    exit_code = 1


class IndexMissingError(QAError):
    """No index where one was expected."""

    exit_code = 3


class IndexCorruptError(QAError):
    """An index that exists but cannot be trusted (damaged files, wrong model, old format)."""

    exit_code = 4


class ModelUnavailableError(QAError):
    """The embedding model cannot be loaded or prepared."""

    exit_code = 5


class IndexBusyError(QAError):
    """Another build of the same index folder is running."""

    exit_code = 6


class CalibrationError(QAError):
    """The abstention model on disk does not fit the code (missing, damaged, or fitted for other features)."""

    exit_code = 7
