"""The one error type of the data layer."""


class DataError(ValueError):
    """Bad data or a bad request: names the file, dataset or option and what was expected."""
