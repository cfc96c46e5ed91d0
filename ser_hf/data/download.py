"""Fetching a clip given as an http(s) address: bounded in size and time, cut connections refused."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import AudioInputError, AudioTooLongError, SERError

URL_TIMEOUT_S = 30  # an http(s) address given as a clip: seconds to wait for the server
URL_DEADLINE_S = 600  # and for the whole download (a byte every 29 s held a caller for hours)
MAX_URL_BYTES = 512 * 2**20  # and the most it downloads


def url_scheme(source: Any) -> str | None:
    """The scheme (``https``, ``s3`` ...) of an address given where a path may be, or None: a path
    (a local file whose name holds ``://`` too), or no string at all."""
    text = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*)://", text) if isinstance(text, str) else None
    return match.group(1).lower() if match and not Path(text).exists() else None


def fetch_url(url: str) -> bytes:
    """The bytes at an http(s) address (at most ``MAX_URL_BYTES``, ``URL_TIMEOUT_S`` per read and
    ``URL_DEADLINE_S`` in all).

    Raises:
        AudioInputError: the server cannot be reached or answers an error, the download takes too long,
            or the connection closed before the length the server announced;
            :class:`~ser_hf.errors.AudioTooLongError`: the download is too large.
    """
    import http.client
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + URL_DEADLINE_S
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as response:  # noqa: S310 (http(s) only)
            parts, size = [], 0
            while size <= MAX_URL_BYTES and (part := response.read1(2**20)):
                parts.append(part)
                size += len(part)
                if time.monotonic() > deadline:
                    raise AudioInputError(
                        f"the download took more than {URL_DEADLINE_S} s ({size} bytes so far); download it "
                        "yourself and pass its path",
                        source=url,
                    )
            data = b"".join(parts)
            announced = response.headers.get("Content-Length", "")
    except SERError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:  # cut chunks too
        reason = f"HTTP {err.code} {err.reason}" if isinstance(err, urllib.error.HTTPError) else err
        raise AudioInputError(f"could not fetch the audio ({reason}); check the address", source=url) from err
    if len(data) > MAX_URL_BYTES:
        raise AudioTooLongError(
            f"the download passed {MAX_URL_BYTES // 2**20} MiB; download it yourself and pass its path",
            source=url,
        )
    if announced.isdigit() and len(data) < int(announced):  # a cut connection: half a clip decodes too
        raise AudioInputError(
            f"the download ended after {len(data)} of {int(announced)} bytes (the connection closed); "
            "try again, or download the file and pass its path",
            source=url,
        )
    return data
