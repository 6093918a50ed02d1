"""The storage API's shapes: Jupyter's contents model (what JupyterLab's ``Contents.IModel`` and a
custom ``Drive`` expect) and the cluster list with health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..pathtext import PathText

ContentType = Literal["directory", "file", "notebook"]
ContentFormat = Literal["json", "text", "base64"]


class ContentsModel(BaseModel):
    """Jupyter's contents model; ``path`` is relative to the cluster's ``base_path``."""

    name: str
    path: str
    type: ContentType
    writable: bool
    created: str | None = Field(None, description="ISO 8601 (HDFS keeps no creation time: "
                                                  "the modification time).")
    last_modified: str | None = Field(None, description="ISO 8601")
    size: int | None = Field(None, description="Bytes, for files.")
    mimetype: str | None = None
    format: ContentFormat | None = None
    content: Any = Field(None, description="Directory: list of models without content; "
                                           "notebook: the notebook JSON; file: text or base64.")


class SaveRequest(BaseModel):
    """``PUT``: save a file, notebook or directory; ``chunk`` follows JupyterLab's upload protocol
    (1, 2, … for parts, -1 for the last one; the file appears only after the last)."""

    model_config = ConfigDict(extra="ignore")

    type: ContentType = "file"
    format: ContentFormat | None = None
    content: Any = None
    chunk: int | None = Field(None, description="1..n for parts of an upload, -1 for the last.")


class RenameRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: PathText = Field(min_length=1, description="New path, relative to the cluster root.")


class CreateRequest(BaseModel):
    """``POST`` to a directory: copy ``copy_from`` into it, or create an untitled item."""

    model_config = ConfigDict(extra="ignore")

    copy_from: str | None = Field(None, description="Path of a file to copy into the folder.")
    type: ContentType | None = Field(None, description="Kind of untitled item to create.")
    ext: str | None = Field(None, description="Extension of an untitled file, e.g. `.py`.")


class ClusterStatus(BaseModel):
    name: str
    kind: str
    namenodes: list[str]
    base_path: str
    url: str = Field(description="`hdfs://<cluster><base_path>`: prefix of the URLs code uses.")
    status: Literal["ok", "down"]
    message: str | None = Field(None, description="Why the cluster is down.")


class StorageList(BaseModel):
    clusters: list[ClusterStatus]
