"""The one exception type the export CLI turns into a one-line message instead of a traceback."""


class UserError(Exception):
    """A problem the operator can fix (bad input, unreachable service, wrong credentials).

    The message is printed as-is after 'error: ', so it must say what is wrong and what to do.
    """
