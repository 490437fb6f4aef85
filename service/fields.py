"""What a request may carry in an id or a free-text field, checked before a route runs: ids match
the id pattern (so a NUL byte or a 60,000-character id never reaches a store or a 404 message),
and free text has nothing a store cannot keep."""

from typing import Annotated, Any

from fastapi import Form, Path, Query
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from classifiers.character.aliases import MAX_ALIAS_CHARS
from clipguard.core.contracts import ID_PATTERN, TEXT_PATTERN, check_text
from registry.review import MAX_NOTE_CHARS

PathId = Annotated[str, Path(pattern=ID_PATTERN.pattern, max_length=128)]
QueryId = Annotated[str | None, Query(pattern=ID_PATTERN.pattern, max_length=128)]
QueryIdOrEmpty = Annotated[str, Query(pattern=f"^$|{ID_PATTERN.pattern}", max_length=128)]
BodyId = Annotated[str, Field(pattern=ID_PATTERN.pattern, max_length=128)]
FormId = Annotated[str, StringConstraints(pattern=ID_PATTERN.pattern, max_length=128)]
Note = Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS, pattern=TEXT_PATTERN),
                 AfterValidator(lambda text: check_text(text, "the text", MAX_NOTE_CHARS))]
# Form fields of free text: a title, a figure's name, an alias (checked again where they are stored).
Title = Annotated[str, Form(min_length=1, max_length=256, pattern=TEXT_PATTERN)]
Alias = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ALIAS_CHARS, pattern=TEXT_PATTERN)]


class Problem(BaseModel):
    """What every refusal answers: `detail` says what was wrong. A request that does not match
    the schema answers a list of {loc, msg, type}; a refusal by the route, a sentence."""

    detail: str | list[dict[str, Any]]


# Documented on every /v1 route, so a client (or schemathesis) knows each refusal it may meet.
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no bearer token, or one that is unknown, expired or revoked"},
    403: {"model": Problem, "description": "the token's role or scopes do not allow this route"},
    404: {"model": Problem, "description": "no such item, or not one the caller may see"},
    413: {"model": Problem, "description": "the body, or one of its files, is over the cap"},
    422: {"model": Problem, "description": "the request does not match the schema, or its content is unusable"},
}
# The review queue's routes also meet a held or finished item, and a broker that refuses decisions.
QUEUE_REFUSALS: dict[int | str, dict[str, Any]] = {
    **REFUSALS,
    409: {"model": Problem, "description": "the item is held by someone else, not held by the caller, or done"},
    503: {"model": Problem, "description": "Kafka did not take the decision; nothing was recorded"},
}
