"""The errors `gen` reports as one line and exit code 2, leaving the project untouched."""


class GenError(Exception):
    """A problem the user can fix: printed as one line, exit code 2."""


class SpecError(GenError):
    """A bad entity name, field token or option."""


class ProjectError(GenError):
    """The target directory is not a project this generator can change safely."""
