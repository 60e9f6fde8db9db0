"""Turn database integrity and data errors into domain errors (409, 422), never 500s."""

from __future__ import annotations

from collections.abc import Callable

from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError, IntegrityError

from clinicflow.errors import ClinicflowError, Conflict, FieldProblem, ValidationFailed

# constraint name -> factory of the domain error it means. Domains register theirs.
_CONSTRAINT_ERRORS: dict[str, Callable[[], ClinicflowError]] = {}


def register_constraint_error(constraint: str, factory: Callable[[], ClinicflowError]) -> None:
    """Declare which domain error a violated constraint means."""
    _CONSTRAINT_ERRORS[constraint] = factory


def translate_db_error(exc: DBAPIError) -> ClinicflowError | None:
    """Map an integrity- or data-class database error to a domain error, or None if it is neither.

    Data errors (a value PostgreSQL cannot take: out of range, unencodable,
    malformed) become 422 VALIDATION_FAILED naming the column when PostgreSQL
    reports one; integrity errors become the registered domain error or 409.
    """
    orig = exc.orig
    if isinstance(orig, pg_errors.DataError):
        return data_error(orig)
    if not isinstance(exc, IntegrityError) and not isinstance(
        orig, pg_errors.ExclusionViolation | pg_errors.SerializationFailure
    ):
        return None
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint and constraint in _CONSTRAINT_ERRORS:
        return _CONSTRAINT_ERRORS[constraint]()
    if isinstance(orig, pg_errors.ForeignKeyViolation):
        return ValidationFailed(
            "A referenced object does not exist",
            errors=[FieldProblem(field=_column_of(diag) or "body", message="does not exist")],
        )
    if isinstance(orig, pg_errors.NotNullViolation | pg_errors.CheckViolation):
        return ValidationFailed(
            "A value breaks a rule of the data",
            errors=[FieldProblem(field=_column_of(diag) or "body", message="is not allowed")],
        )
    return Conflict("The request conflicts with existing data", constraint=constraint)


def _column_of(diag: object) -> str | None:
    column = getattr(diag, "column_name", None)
    return str(column) if column else None


def data_error(error: pg_errors.DataError) -> ValidationFailed:
    """The 422 for a value PostgreSQL refused (22xxx), raised by the ORM or a direct read."""
    column = _column_of(getattr(error, "diag", None))
    return ValidationFailed(
        "A value cannot be stored or compared by the database",
        errors=[FieldProblem(field=column or "body", message="is not a value the database accepts")],
    )
