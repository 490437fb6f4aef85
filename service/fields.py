"""What a request may carry in an id or a free-text field, checked before a route runs: ids match
the id pattern (so a NUL byte or a 60,000-character id never reaches a store or a 404 message),
and free text has nothing a store cannot keep."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field

from clipguard.core.contracts import ID_PATTERN, check_text
from registry.review import MAX_NOTE_CHARS

PathId = Annotated[str, Path(pattern=ID_PATTERN.pattern, max_length=128)]
QueryId = Annotated[str | None, Query(pattern=ID_PATTERN.pattern, max_length=128)]
QueryIdOrEmpty = Annotated[str, Query(pattern=f"^$|{ID_PATTERN.pattern}", max_length=128)]
BodyId = Annotated[str, Field(pattern=ID_PATTERN.pattern, max_length=128)]
Note = Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS),
                 AfterValidator(lambda text: check_text(text, "the text", MAX_NOTE_CHARS))]
