"""Slack's two-step file upload, as files_upload_v2 drives it.

slack_sdk's ``files_upload_v2`` calls files.getUploadURLExternal, POSTs the raw bytes to the
``upload_url`` it got back (no token: the URL is the credential), then calls
files.completeUploadExternal to share the file. The upload URL here points at the stand-in itself,
so the bytes the bot uploads are kept and tests can read the post-mortem or chart it sent.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from bot.sandbox.slack_records import JSON, SandboxChannel, SlackRefusal, text_arg
from bot.sandbox.slack_workspace import SlackWorkspace


@dataclass
class SandboxUpload:
    """One file; ``content`` is None until its bytes arrive, ``channel`` None until it is shared."""

    file_id: str
    name: str
    length: int
    upload_token: str
    alt_txt: str | None = None
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    message_ts: str | None = None
    completed: bool = False

    @property
    def text(self) -> str:
        return (self.content or b"").decode("utf-8", errors="replace")


class FileUploads:
    def __init__(self, workspace: SlackWorkspace, *, base_url: Callable[[], str]) -> None:
        self._ws = workspace
        self._base_url = base_url
        self.uploads: list[SandboxUpload] = []

    def get_upload_url(self, args: JSON) -> JSON:
        """files.getUploadURLExternal: ``filename`` and ``length`` are required, as in Slack."""
        filename = text_arg(args, "filename")
        try:
            length = int(args.get("length") or "")
        except ValueError:
            raise SlackRefusal("invalid_arguments") from None
        if not filename or length < 1:
            raise SlackRefusal("invalid_arguments")
        upload = SandboxUpload(file_id=self._ws.new_id("F"), name=filename, length=length,
                               upload_token=secrets.token_urlsafe(16), alt_txt=text_arg(args, "alt_txt"))
        self.uploads.append(upload)
        return {"upload_url": f"{self._base_url()}/upload/v1/{upload.upload_token}", "file_id": upload.file_id}

    def receive(self, token: str, content: bytes) -> SandboxUpload | None:
        """The POST to an upload URL; None for URLs never handed out or already completed (Slack: 404)."""
        upload = next((u for u in self.uploads if u.upload_token == token and not u.completed), None)
        if upload is not None:
            upload.content = content
        return upload

    def complete(self, args: JSON, channels: list[SandboxChannel]) -> JSON:
        """files.completeUploadExternal: share into each channel as one message with ``initial_comment``."""
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackRefusal("invalid_arguments")
        thread_ts = text_arg(args, "thread_ts")
        comment = text_arg(args, "initial_comment")
        uploads = []
        for entry in entries:
            upload = next((u for u in self.uploads if isinstance(entry, dict) and u.file_id == entry.get("id")), None)
            if upload is None or upload.content is None or upload.completed:
                raise SlackRefusal("file_not_found")
            upload.title = str(entry.get("title") or upload.name)
            uploads.append(upload)
        files = [self._file_object(u, [c.id for c in channels]) for u in uploads]
        for upload in uploads:
            upload.completed, upload.initial_comment, upload.thread_ts = True, comment, thread_ts
        for channel in channels:
            message = self._ws.post(channel, user=self._ws.bot_user_id, text=comment or "", thread_ts=thread_ts,
                                    files=files)
            for upload in uploads:
                upload.channel = upload.channel or channel.id
                upload.message_ts = upload.message_ts or message.ts
        return {"files": files}

    def _file_object(self, upload: SandboxUpload, channels: list[str]) -> JSON:
        mimetype = mimetypes.guess_type(upload.name)[0] or "application/octet-stream"
        base = self._base_url()
        return {
            "id": upload.file_id, "created": self._ws.now_epoch(), "timestamp": self._ws.now_epoch(),
            "name": upload.name, "title": upload.title, "mimetype": mimetype,
            "filetype": upload.name.rsplit(".", 1)[-1] if "." in upload.name else "binary",
            "user": self._ws.bot_user_id, "size": len(upload.content or b""), "mode": "hosted",
            "is_external": False, "is_public": True, "alt_txt": upload.alt_txt,
            "url_private": f"{base}/files-pri/{self._ws.team_id}-{upload.file_id}/{upload.name}",
            "permalink": f"https://sandbox.slack.com/files/{self._ws.bot_user_id}/{upload.file_id}/{upload.name}",
            "channels": channels, "shares": {},
        }
