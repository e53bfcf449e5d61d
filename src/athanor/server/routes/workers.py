"""``/v1/workers``: a machine joins the platform as a worker (team mode).

A worker on another machine knows only the platform's URL and an admin's token; joining
answers with what the worker then works with directly: the metadata database and the
artifact bucket the platform uses (their credentials included, so only admins may join
workers, the answer is never cached, and the join is audited). An embedded platform (an
SQLite file, a local artifact folder) cannot be shared: joining it is a 409 that says what
team mode needs.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Response

from athanor.errors import Conflict
from athanor.server.routes import Context, errors
from athanor.server.schemas import WorkerConnectionOut, WorkerJoinIn

router = APIRouter(tags=["workers"])

# What s3fs / botocore read; the worker takes the platform's where it sets none itself.
OBJECT_STORAGE_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


@router.post(
    "/v1/workers",
    response_model=WorkerConnectionOut,
    responses=errors(400, 403, 409),
    summary="Join a machine as a worker",
)
def join_worker(body: WorkerJoinIn, context: Context, response: Response) -> dict:
    """Answer a joining worker with the platform's database and artifact bucket.

    Raises 409 when the platform keeps its metadata in an SQLite file or its artifacts in a
    local folder (nothing another machine can share), or when the name is the platform's own.
    """
    settings = context.store.settings
    missing = []
    if not settings.db_url.startswith("postgresql"):
        missing.append("a PostgreSQL database (ATHANOR_DB_URL)")
    artifacts_url = getattr(context.store.artifacts, "remote_url", None)
    if not artifacts_url:
        missing.append("an S3-compatible bucket (ATHANOR_ARTIFACTS_URL=s3://bucket/prefix)")
    if missing:
        raise Conflict(
            "workers on other machines need team mode, and this platform keeps its store on "
            f"its own disk: start it with {' and '.join(missing)} (see docs/team.md)"
        )
    if body.name == context.machine.host:
        raise Conflict(
            f"{body.name!r} is the platform machine's own name; give the worker another "
            "name ('athanor worker --name NAME')"
        )
    response.headers["Cache-Control"] = "no-store"
    return {
        "name": body.name,
        "platform_host": context.machine.host,
        "db_url": settings.db_url,
        "tune_db_url": settings.tune_db_url,
        "artifacts_url": artifacts_url,
        "environment": {
            name: os.environ[name] for name in OBJECT_STORAGE_VARIABLES if os.environ.get(name)
        },
    }
