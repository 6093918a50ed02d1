"""The contents API on the embedded `local` cluster: chunked upload of a file that is new."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any


async def test_chunked_upload_of_a_new_file(api: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "up").mkdir()
    parts = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    for i, part in enumerate(parts):
        chunk = -1 if i == len(parts) - 1 else i + 1
        status, model = await api("storage/local/contents/up/new.bin", "PUT", {
            "type": "file", "format": "base64", "chunk": chunk,
            "content": base64.b64encode(part).decode()})
        assert status in (200, 201), model
        assert model["path"] == "up/new.bin" and model["name"] == "new.bin"
        if chunk != -1:
            assert not (jp_root_dir / "up" / "new.bin").exists()  # appears with the last part
    assert (jp_root_dir / "up" / "new.bin").read_bytes() == b"".join(parts)
    status, listing = await api("storage/local/contents/up")
    assert [m["name"] for m in listing["content"]] == ["new.bin"]  # no upload leftovers
