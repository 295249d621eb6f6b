"""The checkpoint in S3 (the bucket bootstrap makes), so a laptop and a CI runner share progress.

Same protocol as :class:`runbook.state.FileStateStore`, built on S3 conditional writes:

* ``save`` writes with ``If-Match`` the ETag this store read (``If-None-Match: *`` when the
  object did not exist): a concurrent writer makes it fail instead of losing their progress.
* The previous version is kept by bucket versioning, or else as ``<key>.bak``.
* The lock is ``<key>.lock``, created with ``If-None-Match: *`` — of any number of machines
  exactly one gets it. Its holder renews a lease (heartbeat); a lock whose lease expired (a
  crashed CI runner) is taken over with ``If-Match`` on the stale lock's ETag, so two takers
  cannot both win. Lease age is measured in S3's own clock (``Date`` − ``LastModified``), so
  machines with skewed clocks agree.

moto 5.2 implements these conditional writes, so the DynamoDB lock table is not needed.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from runbook.errors import LockHeld, StateError, Unavailable
from runbook.identity import tool_command
from runbook.lock import LockHolder, dead_reason, unlock_hint
from runbook.state import new_document, parse_document, serialize_document, utc_now

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef, PutObjectRequestTypeDef

DEFAULT_LEASE_S = 600.0

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_UNSUPPORTED = {"NotImplemented", "InvalidArgument", "InvalidRequest"}


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@dataclass
class _LockSeen:
    """The lock object as read: its holder (None if unreadable), ETag and lease."""

    holder: LockHolder | None
    problem: str
    etag: str
    age_s: float
    lease_s: float

    @property
    def expired(self) -> bool:
        return self.age_s > self.lease_s


class S3StateStore:
    """The StateStore protocol on S3 with a leased, heartbeated lock."""

    def __init__(
        self,
        bucket: str,
        key: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        heartbeat_s: float | None = None,
        tool: str | None = None,
        log: Any = None,
        client: S3Client | None = None,
    ) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self.bucket = bucket
        self.key = key
        self.lock_key = f"{key}.lock"
        self.backup_key = f"{key}.bak"
        self.location = f"s3://{bucket}/{key}"
        self.lease_s = float(lease_s)
        # Renew three times per lease: two missed renewals in a row still keep the lock.
        self.heartbeat_s = self.lease_s / 3 if heartbeat_s is None else float(heartbeat_s)
        self._region = region
        self._endpoint_url = endpoint_url
        self._tool = tool
        self._log = log
        self._s3 = client
        self._etag: str | None = None  # of the state object as this store last read or wrote it
        self._known = False  # a load has told us whether the object exists
        self._refused: StateError | None = None
        self._versioned: bool | None = None
        self._held: LockHolder | None = None
        self._lock_lost: str | None = None
        self._lock_mutex = threading.Lock()
        self._stop_beat: threading.Event | None = None
        self._beat_thread: threading.Thread | None = None
        self.taken_over: LockHolder | None = None

    # -- state -------------------------------------------------------------------------------

    def load(self) -> dict[str, Any]:
        """The current document; a new one if the object does not exist yet."""
        try:
            response = self._client().get_object(Bucket=self.bucket, Key=self.key)
            raw = response["Body"].read()
        except Exception as exc:
            if _code(exc) in _NOT_FOUND:
                self._etag = None
                self._known = True
                return new_document(self._tool)
            raise self._failure("read", exc) from exc
        hint = (
            f"restore an earlier version of {self.location} (bucket versioning) or s3://{self.bucket}/{self.backup_key}, "
            "or move the object away to start afresh"
        )
        try:
            doc = parse_document(raw, self.location, tool=self._tool, hint=hint)
        except StateError as exc:
            self._refused = exc
            raise
        self._etag = response["ETag"]
        self._known = True
        return doc

    def save(self, doc: dict[str, Any]) -> None:
        """Write if nobody else wrote since our read; keep the previous version."""
        if self._lock_lost:
            raise StateError(
                f"not writing {self.location}: this run lost its lock ({self._lock_lost})",
                hint="another run may be using the state now; check the status before resuming",
            )
        if not self._known and self._refused is None:
            with contextlib.suppress(StateError):
                self.load()  # never write over an object we have not seen to be a valid checkpoint
        if self._refused is not None:
            raise StateError(f"not writing {self.location}: {self._refused.message}", hint=self._refused.hint)
        _, body = serialize_document(doc, self.location, tool=self._tool)
        s3 = self._client()
        try:
            if self._etag is not None and not self._bucket_versioned():
                s3.copy_object(
                    Bucket=self.bucket,
                    Key=self.backup_key,
                    CopySource={"Bucket": self.bucket, "Key": self.key},
                    CopySourceIfMatch=self._etag,
                )
            request: PutObjectRequestTypeDef = {
                "Bucket": self.bucket,
                "Key": self.key,
                "Body": body,
                "ContentType": "application/json",
            }
            if self._etag is not None:
                request["IfMatch"] = self._etag  # only over the version this run read
            else:
                request["IfNoneMatch"] = "*"  # only if nobody created it meanwhile
            response = s3.put_object(**request)
        except Exception as exc:
            if _code(exc) in _CONFLICT | _NOT_FOUND:
                raise StateError(
                    f"{self.location} was changed by someone else since this run read it; nothing was overwritten",
                    hint=f"another run or person wrote it meanwhile: see `{tool_command()} status`, then resume",
                ) from exc
            raise self._failure("write", exc) from exc
        self._etag = response["ETag"]

    def _bucket_versioned(self) -> bool:
        if self._versioned is None:
            try:
                status = self._client().get_bucket_versioning(Bucket=self.bucket).get("Status")
            except Exception:  # noqa: BLE001 - not allowed to ask: keep our own backup copy
                status = None
            self._versioned = status == "Enabled"
        return self._versioned

    # -- lock --------------------------------------------------------------------------------

    def acquire(self, holder: LockHolder) -> None:
        """Hold ``<key>.lock`` or raise LockHeld naming its holder and when its lease ends."""
        s3 = self._client()
        for _ in range(5):  # each round wins, refuses, or saw the lock change hands
            try:
                response = s3.put_object(
                    Bucket=self.bucket,
                    Key=self.lock_key,
                    Body=self._lock_body(holder),
                    ContentType="application/json",
                    IfNoneMatch="*",
                )
                self._hold(holder, response["ETag"])
                return
            except Exception as exc:
                if _code(exc) not in _CONFLICT:
                    raise self._failure("lock", exc) from exc
            seen = self._read_lock()
            if seen is None:
                continue  # released between our attempt and our look
            if seen.holder == holder:
                self._hold(holder, seen.etag)
                return
            reason = self._stale_reason(seen)
            if reason is None:
                raise self._held_error(seen)
            try:
                response = s3.put_object(
                    Bucket=self.bucket,
                    Key=self.lock_key,
                    Body=self._lock_body(holder),
                    ContentType="application/json",
                    IfMatch=seen.etag,
                )
            except Exception as exc:
                if _code(exc) in _CONFLICT | _NOT_FOUND:
                    continue  # someone else took it over or released it first
                raise self._failure("lock", exc) from exc
            self.taken_over = seen.holder
            self._warn(
                "took over a stale state lock",
                lock=f"s3://{self.bucket}/{self.lock_key}",
                stale=seen.holder.describe() if seen.holder else "unreadable lock",
                reason=reason,
            )
            self._hold(holder, response["ETag"])
            return
        raise LockHeld(f"state lock of {self.location} kept changing hands; could not take it", hint="try again in a moment")

    def release(self, run_id: str) -> None:
        """Stop renewing and remove the lock if ``run_id`` holds it; never someone else's."""
        self._stop_heartbeat()
        seen = self._read_lock()
        if seen is None:
            self._held = None
            return
        if seen.holder is None or seen.holder.run_id != run_id:
            self._warn(
                "not releasing a state lock held by another run",
                lock=f"s3://{self.bucket}/{self.lock_key}",
                holder=seen.holder.describe() if seen.holder else "unreadable",
                run=run_id,
            )
            return
        self._delete_lock(seen.etag)
        self._held = None

    def holder(self) -> LockHolder | None:
        seen = self._read_lock()
        return seen.holder if seen is not None else None

    def force_unlock(self) -> LockHolder | None:
        """Remove the lock whoever holds it; returns who did (None if nobody or unreadable)."""
        self._stop_heartbeat()
        seen = self._read_lock()
        if seen is None:
            return None
        self._delete_lock(None)
        if self._held is not None and seen.holder == self._held:
            self._held = None
        return seen.holder

    @property
    def lock_lost(self) -> str | None:
        """Why this store no longer holds the lock it acquired (replaced or removed), or None."""
        return self._lock_lost

    # -- lock internals ----------------------------------------------------------------------

    def _lock_body(self, holder: LockHolder) -> bytes:
        body = {**holder.as_dict(), "lease_s": self.lease_s, "renewed_at": utc_now()}
        return (json.dumps(body, indent=2) + "\n").encode()

    def _read_lock(self) -> _LockSeen | None:
        try:
            response = self._client().get_object(Bucket=self.bucket, Key=self.lock_key)
            raw = response["Body"].read()
        except Exception as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            raise self._failure("read the lock of", exc) from exc
        server_now = _server_time(response)
        modified = response.get("LastModified") or server_now
        age = max(0.0, (server_now - modified).total_seconds())
        try:
            data = json.loads(raw.decode("utf-8"))
            holder = LockHolder.from_dict(data)
            lease = float(data.get("lease_s") or self.lease_s)
            problem = ""
        except (UnicodeDecodeError, ValueError, TypeError) as exc:
            holder, lease, problem = None, self.lease_s, str(exc) or "empty"
        return _LockSeen(holder=holder, problem=problem, etag=response["ETag"], age_s=age, lease_s=lease)

    def _stale_reason(self, seen: _LockSeen) -> str | None:
        if seen.expired:
            return f"its lease of {seen.lease_s:.0f}s ran out: last renewed {seen.age_s:.0f}s ago"
        if seen.holder is not None:
            return dead_reason(seen.holder)
        return None

    def _held_error(self, seen: _LockSeen) -> LockHeld:
        left = max(0.0, seen.lease_s - seen.age_s)
        if seen.holder is None:
            return LockHeld(
                f"state lock s3://{self.bucket}/{self.lock_key} exists but cannot be read ({seen.problem}); "
                f"it expires in {left:.0f}s",
                hint=unlock_hint(),
            )
        return LockHeld(
            f"state {self.location} is locked by {seen.holder.describe()}; its lease was renewed "
            f"{seen.age_s:.0f}s ago and runs out in {left:.0f}s unless renewed",
            hint=unlock_hint(),
        )

    def _hold(self, holder: LockHolder, etag: str) -> None:
        self._stop_heartbeat()
        with self._lock_mutex:
            self._held = holder
            self._lock_lost = None
        if self.heartbeat_s > 0:
            stop = threading.Event()
            thread = threading.Thread(target=self._heartbeat, args=(holder, etag, stop), name="state-lock-heartbeat", daemon=True)
            self._stop_beat, self._beat_thread = stop, thread
            thread.start()

    def _heartbeat(self, holder: LockHolder, etag: str, stop: threading.Event) -> None:
        """Renew the lease of the lock held with ``etag`` until released; notice (and say) if
        someone else took the lock."""
        while not stop.wait(self.heartbeat_s):
            with self._lock_mutex:
                if stop.is_set():
                    return
                try:
                    response = self._client().put_object(
                        Bucket=self.bucket,
                        Key=self.lock_key,
                        Body=self._lock_body(holder),
                        ContentType="application/json",
                        IfMatch=etag,
                    )
                except Exception as exc:  # noqa: BLE001 - a heartbeat reports, it never raises
                    if _code(exc) in _CONFLICT | _NOT_FOUND:
                        self._lock_lost = "the lock was removed or taken over by someone else"
                        self._error("lost the state lock", lock=f"s3://{self.bucket}/{self.lock_key}", run=holder.run_id)
                        return
                    self._warn("could not renew the state lock lease; will retry", error=str(exc))
                    continue
                etag = response["ETag"]

    def _stop_heartbeat(self) -> None:
        stop, thread = self._stop_beat, self._beat_thread
        self._stop_beat = self._beat_thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _delete_lock(self, etag: str | None) -> None:
        s3 = self._client()
        try:
            if etag is None:
                s3.delete_object(Bucket=self.bucket, Key=self.lock_key)
            else:
                s3.delete_object(Bucket=self.bucket, Key=self.lock_key, IfMatch=etag)
        except Exception as exc:
            code = _code(exc)
            if code in _NOT_FOUND:
                return
            if etag is not None and code in _CONFLICT:
                self._warn("the state lock changed before it could be released; left it", lock=self.lock_key)
                return
            if etag is not None and code in _UNSUPPORTED:  # an S3 without conditional deletes
                s3.delete_object(Bucket=self.bucket, Key=self.lock_key)
                return
            raise self._failure("unlock", exc) from exc

    # -- plumbing ----------------------------------------------------------------------------

    def _client(self) -> S3Client:
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            self._s3 = boto3.client(
                "s3",
                region_name=self._region,
                endpoint_url=self._endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60),
            )
        return self._s3

    def _failure(self, what: str, exc: Exception) -> Exception:
        """A botocore error as something a user can act on."""
        code = _code(exc)
        if code == "NoSuchBucket":
            return StateError(
                f"cannot {what} {self.location}: bucket {self.bucket} does not exist",
                hint="deploy the bootstrap step first (it makes the state bucket), or fix the state location",
            )
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            return StateError(
                f"cannot {what} {self.location}: access denied",
                hint=f"the credentials need s3:GetObject, s3:PutObject and s3:DeleteObject on s3://{self.bucket}/{self.key}*",
            )
        if code:
            message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
            return StateError(
                f"cannot {what} {self.location}: {code} {message}".rstrip(), hint="check the bucket and the credentials"
            )
        return Unavailable(
            f"cannot {what} {self.location}: {exc}",
            hint="check the network and the AWS credentials (AWS_PROFILE), then retry",
        )

    def _warn(self, event: str, **fields: Any) -> None:
        self._logger().warning(event, **fields)

    def _error(self, event: str, **fields: Any) -> None:
        self._logger().error(event, **fields)

    def _logger(self) -> Any:
        if self._log is None:
            from runbook.logs import get_logger

            self._log = get_logger(state=self.location)
        return self._log


def _server_time(response: GetObjectOutputTypeDef) -> datetime:
    """S3's clock from the response's Date header (ours if the header is missing)."""
    date = (response.get("ResponseMetadata") or {}).get("HTTPHeaders", {}).get("date")
    if date:
        with contextlib.suppress(TypeError, ValueError):
            return parsedate_to_datetime(date)
    return datetime.now(UTC)
