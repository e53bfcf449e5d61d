"""``athanor doctor``'s line about the artifact bucket."""

from __future__ import annotations

from athanor.cli.doctor import _bucket_line, _bucket_state


def test_doctor_says_whether_the_artifact_bucket_answers(s3_bucket: str) -> None:
    assert _bucket_state(None) is None
    assert "not set" in _bucket_line(None)
    assert _bucket_state(s3_bucket) == {"url": s3_bucket, "answers": True}
    missing = _bucket_state("s3://no-such-bucket-for-doctor")
    assert missing is not None and missing["answers"] is False
    assert "does not exist" in missing["error"]
    assert _bucket_line(missing).startswith("s3://no-such-bucket-for-doctor (does not answer: ")
