"""The registry's own integrity queries, as SQL text that data-quality tools (Great
Expectations' SQL datasource in quality/) run without knowing the tables."""

from __future__ import annotations

from sqlalchemy import Select, and_, func, select

from registry.models import CameoRow, ClaimReferenceRow, ClaimRow, FaceEmbeddingRow


def _sql(query: Select) -> str:
    return str(query.compile(compile_kwargs={"literal_binds": True}))


# References per claim: a claim without one can match nothing.
CLAIM_REFERENCE_COUNTS = _sql(
    select(ClaimRow.claim_id, func.count(ClaimReferenceRow.reference_id).label("reference_count"))
    .select_from(ClaimRow).outerjoin(ClaimReferenceRow, ClaimReferenceRow.claim_id == ClaimRow.claim_id)
    .group_by(ClaimRow.claim_id))

# Face embeddings per enrolled cameo: a cameo without one is invisible to the gate.
CAMEO_PHOTO_COUNTS = _sql(
    select(CameoRow.user_id, func.count(FaceEmbeddingRow.embedding_id).label("photo_count"))
    .select_from(CameoRow).outerjoin(FaceEmbeddingRow, and_(FaceEmbeddingRow.subject_kind == "cameo",
                                                            FaceEmbeddingRow.subject_id == CameoRow.user_id))
    .group_by(CameoRow.user_id))
