"""The ``extensions.code`` of each GraphQL error: the project's own errors carry theirs;
graphql-core's are told apart by when they happen and by their wording.

The endpoint sends these codes and masks the message of every INTERNAL_SERVER_ERROR; the
schema logs those at ERROR and the rest, the client's errors, at DEBUG.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError

from defalto_gql.errors import DefaltoError

INTERNAL = "INTERNAL_SERVER_ERROR"

# graphql-core's messages for variable values it cannot coerce (3.2 and 3.3 wordings).
# Validation messages also start with "Variable '$" ("... is never used"), so the
# prefix alone does not tell a bad value from a bad document.
BAD_VARIABLE = re.compile(
    r"^Variable (values are nested too deeply"
    r"|'\$\w+' (has|got) invalid (default )?value"
    r"|'\$\w+' of (required|non-null) type)"
)

# graphql-core's messages for an argument it cannot coerce while executing (3.2 and 3.3
# wordings). Validation lets a nullable variable stand for a non-null argument (or input
# field) that has a default, so a null sent for it is only refused here, at run time.
BAD_ARGUMENT = re.compile(
    r"^Argument '(?P<argument>\w+)' "
    r"(of (required|non-null) type|has invalid value( at (?P<path>[\w.\[\]]+):)?)"
)


def error_code(error: GraphQLError) -> dict[str, Any]:
    """``code`` and, where one argument or field is at fault, ``field``."""
    original = error.original_error
    if isinstance(original, DefaltoError):
        return original.extensions()
    if error.path is None:
        # Raised before execution: the request is at fault, whatever the cause
        # (a variable's scalar may fail with a plain ValueError).
        if error.message.startswith("Syntax Error"):
            return {"code": "GRAPHQL_PARSE_FAILED"}
        if BAD_VARIABLE.match(error.message):
            return {"code": "BAD_USER_INPUT"}
        return {"code": "GRAPHQL_VALIDATION_FAILED"}
    argument = BAD_ARGUMENT.match(error.message)
    if isinstance(original, GraphQLError) and argument:
        # The innermost input field is named, as other bad values name theirs: "Argument
        # 'data' has invalid value at .isAdmin" names isAdmin.
        names = re.findall(r"\.(\w+)", argument["path"] or "")
        return {"code": "BAD_USER_INPUT", "field": (names or [argument["argument"]])[-1]}
    return {"code": INTERNAL}


def is_unexpected(error: GraphQLError) -> bool:
    """An error that is not the client's: a bug, whose details are logged, never sent."""
    return error_code(error)["code"] == INTERNAL and not isinstance(
        error.original_error, DefaltoError)
