"""Reviews: the queue of review tasks, one task with its document's pages, and claiming,
completing or rejecting it (human review, usecases/reviews.py)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from docflow.api.context import reviewer_of, workspace_of
from docflow.api.openapi import PROTECTED, responses
from docflow.api.params import Cursor, Limit
from docflow.api.schemas_reviews import (
    ReviewCompletion,
    ReviewDetail,
    ReviewDocumentOut,
    ReviewList,
    ReviewOut,
    ReviewPageOut,
    ReviewRejection,
)
from docflow.domain.reviews import ReviewStatus
from docflow.ports import Ports
from docflow.usecases import reviews as review_cases

TAGS = ["reviews"]
ReviewId = Annotated[str, Path(max_length=128, description="A review task id (rev_…)")]
PageNumber = Annotated[int, Path(ge=1, le=10_000, description="1-based page number")]


def build(ports: Ports) -> Router:
    router = Router()

    @router.get("/v1/reviews", operation_id="listReviews", tags=TAGS, security=PROTECTED,
                summary="The review queue: pending tasks first, oldest first",
                description="Tasks another reviewer claimed are left out for 15 minutes.",
                responses=responses(200, ReviewList, 404))
    def list_reviews(
        workflow_id: Annotated[str | None, Query(max_length=128, description="Only this workflow's tasks")] = None,
        status: Annotated[ReviewStatus | None, Query(description="Only tasks in this status")] = None,
        limit: Limit = 20, cursor: Cursor = None,
    ) -> ReviewList:
        reviewer = reviewer_of(router)
        page = review_cases.list_reviews(ports, workspace_of(router), workflow_id, status, limit, cursor,
                                         reviewer.key_id)
        return ReviewList(items=[ReviewOut.of(t) for t in page.items], next_cursor=page.next_cursor)

    @router.get("/v1/reviews/<review_id>", operation_id="getReview", tags=TAGS, security=PROTECTED,
                summary="One review task, with its document's pages (image URLs) or text",
                responses=responses(200, ReviewDetail, 404))
    def get_review(review_id: ReviewId) -> ReviewDetail:
        task = review_cases.get_review(ports, workspace_of(router), review_id)
        shown = review_cases.review_document(ports, task)
        document = shown.document
        return ReviewDetail(
            **ReviewOut.of(task).model_dump(),
            document=None if document is None else ReviewDocumentOut(
                id=document.id, name=document.name, content_type=document.content_type, text=shown.text),
            pages=[ReviewPageOut(number=p.number, width=p.width, height=p.height,
                                 image_url=f"/v1/reviews/{task.id}/pages/{p.number}") for p in shown.pages])

    @router.get("/v1/reviews/<review_id>/pages/<page>", operation_id="getReviewPage", tags=TAGS,
                security=PROTECTED, summary="One page of the task's document as a PNG",
                responses=responses(200, bytes, 404, content_type="image/png"))
    # No return annotation on purpose: powertools' validation would serialise the PNG's bytes as JSON;
    # without one it passes a non-JSON Response through, and the PNG is declared in `responses`.
    def get_review_page(review_id: ReviewId, page: PageNumber):
        image = review_cases.page_image(ports, workspace_of(router), review_id, page)
        return Response(200, "image/png", image, headers={"Cache-Control": "private, max-age=3600"})

    @router.post("/v1/reviews/<review_id>/claim", operation_id="claimReview", tags=TAGS, security=PROTECTED,
                 summary="Claim a task: other reviewers' queues leave it out for 15 minutes",
                 responses=responses(200, ReviewOut, 404, 409))
    def claim_review(review_id: ReviewId) -> ReviewOut:
        return ReviewOut.of(review_cases.claim_review(ports, workspace_of(router), review_id, reviewer_of(router)))

    @router.post("/v1/reviews/<review_id>/release", operation_id="releaseReview", tags=TAGS, security=PROTECTED,
                 summary="Give a claimed task back to the queue", responses=responses(200, ReviewOut, 404, 409))
    def release_review(review_id: ReviewId) -> ReviewOut:
        return ReviewOut.of(review_cases.release_review(ports, workspace_of(router), review_id, reviewer_of(router)))

    @router.post("/v1/reviews/<review_id>/complete", operation_id="completeReview", tags=TAGS, security=PROTECTED,
                 summary="Approve the values (with corrections): the run goes on with them",
                 description="422 names each bad field; 409 when the task already ended or expired.",
                 responses=responses(200, ReviewOut, 404, 409))
    def complete_review(review_id: ReviewId, body: Annotated[ReviewCompletion, Body()]) -> ReviewOut:
        return ReviewOut.of(review_cases.complete_review(ports, workspace_of(router), review_id, body.values,
                                                         reviewer_of(router)))

    @router.post("/v1/reviews/<review_id>/reject", operation_id="rejectReview", tags=TAGS, security=PROTECTED,
                 summary="Reject: the run fails with review_rejected and the reason",
                 responses=responses(200, ReviewOut, 404, 409))
    def reject_review(review_id: ReviewId, body: Annotated[ReviewRejection, Body()]) -> ReviewOut:
        return ReviewOut.of(review_cases.reject_review(ports, workspace_of(router), review_id, body.reason,
                                                       reviewer_of(router)))

    return router
