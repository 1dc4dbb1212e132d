"""/v1/documents: a document handle with a signed upload URL, and the document's status."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, responses
from docflow.api.params import DocumentId
from docflow.api.schemas import DocumentCreate, DocumentHandleOut, DocumentOut
from docflow.domain.clock import iso
from docflow.ports import Ports
from docflow.usecases import documents as document_cases

TAGS = ["documents"]


def build(ports: Ports) -> Router:
    router = Router()

    @router.post("/v1/documents", status_code=201, operation_id="createDocument",
                 summary="Create a document handle; PUT the bytes to its file_url", tags=TAGS,
                 security=PROTECTED, responses=responses(201, DocumentHandleOut, 413, 415))
    def create_document(body: Annotated[DocumentCreate, Body()]) -> DocumentHandleOut:
        handle = document_cases.create_document(ports, workspace_of(router), body.name, body.content_type, body.size)
        doc = handle.document
        return DocumentHandleOut(id=doc.id, document_id=doc.id, file_url=handle.upload.url, upload_method="PUT",
                                 upload_headers=handle.upload.headers,
                                 expires_at=iso(handle.upload.expires_at) or "")

    @router.get("/v1/documents/<document_id>", operation_id="getDocument",
                summary="Get a document: status, size, sha256 and a download URL", tags=TAGS,
                security=PROTECTED, responses=responses(200, DocumentOut, 404))
    def get_document(document_id: DocumentId) -> DocumentOut:
        document = document_cases.get_document(ports, workspace_of(router), document_id)
        return DocumentOut.of(document, document_cases.download_url(ports, document))

    return router
