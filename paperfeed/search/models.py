"""Embeddings are stored in the database (the system of record), so any node can rebuild its
in-process vector index from them without running the model again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from paperfeed.papers.models import Paper

if TYPE_CHECKING:  # numpy loads where a vector is packed, not with the models at start-up
    import numpy as np


class Embedding(models.Model):
    paper = models.OneToOneField(Paper, primary_key=True, on_delete=models.CASCADE, related_name="embedding")
    model = models.CharField(max_length=60)  # embedder name; another model means "embed again"
    text_hash = models.CharField(max_length=16)  # of the text embedded: unchanged text is not redone
    vector = models.BinaryField()  # float16, little-endian (half the size of float32; cosine-exact enough)

    def __str__(self) -> str:
        return f"embedding of paper {self.paper_id} ({self.model})"

    @staticmethod
    def pack(vec: np.ndarray) -> bytes:
        import numpy as np

        return np.asarray(vec, dtype="<f2").tobytes()

    @staticmethod
    def unpack(data: bytes | memoryview) -> np.ndarray:
        import numpy as np

        return np.frombuffer(bytes(data), dtype="<f2").astype(np.float32)
