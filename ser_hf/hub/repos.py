"""A Hub repository as ``ser_hf.hub`` reaches it: the repo id checked before anything loads or
uploads (:func:`check_repo_id`), the token found (:func:`check_token`), the repo created or made
private (:func:`create_repo`), and the Hub's HTTP and connection errors said as
:class:`~ser_hf.errors.SERError` with the fix (:func:`hub_errors`), for uploads (:mod:`ser_hf.hub.push`,
:mod:`ser_hf.hub.dataset_push`) and downloads (:mod:`ser_hf.hub.fetch`) alike.

``huggingface_hub`` honours ``HF_TOKEN`` (or a saved login) and ``HF_ENDPOINT``; an explicit
``token`` wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from huggingface_hub import HfApi

from ..errors import SERError

logger = logging.getLogger("ser_hf.hub.push")  # moved messages keep their logger


@contextmanager
def hub_errors(action: str, repo_id: str) -> Iterator[None]:
    """Turn the HTTP and connection errors of huggingface_hub into SERError with the fix, also when
    it wraps them in a RuntimeError (a failed LFS upload: "Error while uploading 'x' to the Hub.")."""
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    try:
        from httpx2 import TransportError  # huggingface_hub >= 2
    except ImportError:  # pragma: no cover - huggingface_hub 1.x uses httpx
        from httpx import TransportError

    endpoint = constants.ENDPOINT
    network = (HfHubHTTPError, TransportError, ConnectionError)
    try:
        yield
    except LocalEntryNotFoundError as err:  # a download offline (or unreachable) of what is not cached
        why = (
            "offline mode is on (HF_HUB_OFFLINE=1)"
            if constants.HF_HUB_OFFLINE
            else f"{endpoint} is unreachable"
        )
        fix = "unset HF_HUB_OFFLINE to reach the Hub" if constants.HF_HUB_OFFLINE else "check the network"
        raise SERError(
            f"cannot {action}: {why} and it is not in the local Hugging Face cache; {fix}, or give a local "
            "folder (a typo'd folder path reads as a Hub id)",
            source=repo_id,
        ) from err
    except (*network, RuntimeError) as err:
        cause: BaseException | None = err
        while cause is not None and not isinstance(cause, network):
            cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
        if cause is None:  # a RuntimeError of some other kind
            raise
        wrapped = f"; {err}" if cause is not err else ""  # which file failed to upload
        if isinstance(cause, OfflineModeIsEnabled):
            message = f"cannot {action}: offline mode is on (HF_HUB_OFFLINE=1); unset it to reach {endpoint}"
        elif isinstance(cause, HfHubHTTPError):
            status = cause.response.status_code if cause.response is not None else None
            server = (cause.server_message or "").strip().splitlines()[0] if cause.server_message else ""
            detail = f" ({server})" if server else ""
            if status == 401:
                fix = (
                    "the Hub rejected the credentials: set HF_TOKEN to a WRITE token "
                    "(https://huggingface.co/settings/tokens), pass --token, or run `hf auth login`"
                )
            elif status == 403:
                fix = "this token may not write there: use a repo id under your user or an organisation you can write to"
            elif status == 404:
                fix = (
                    "the repository was not found: check the repo id, and that HF_TOKEN can see private repos"
                )
            elif status == 409:
                fix = "the Hub reported a conflict: another push may be running, retry in a moment"
            elif status == 412:
                fix = "the branch moved while uploading: retry the push"
            elif status is not None and status >= 500:
                fix = f"the Hub failed or is unavailable (HTTP {status}): retry the push later"
            else:
                fix = f"the Hub answered HTTP {status}"
            message = f"cannot {action} at {endpoint}: {fix}{detail}{wrapped}"
        else:
            message = (
                f"cannot {action}: {endpoint} is unreachable or closed the connection ({type(cause).__name__}"
                f"{wrapped}); check the network, or HF_ENDPOINT if you use a mirror, and retry the push"
            )
        raise SERError(message, source=repo_id) from err


def check_repo_id(repo_id: str) -> None:
    """A repo id the Hub would refuse is an SERError before anything loads or uploads."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        reason = str(err).splitlines()[0]
        raise SERError(
            f"not a Hub repo id ({reason}); write it as user/name or org/name with letters, digits, "
            "'-', '_' and '.'",
            source=str(repo_id),
        ) from err
    if str(repo_id).count("/") != 1:  # a bare name would land in the token's namespace, then fail
        raise SERError(
            "not a Hub repo id (no owner): write it as user/name or org/name, e.g. user/ser-ravdess",
            source=str(repo_id),
        )


def check_token(token: str | None) -> str:
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise SERError(
            "no Hugging Face token: set HF_TOKEN to a write token (https://huggingface.co/settings/tokens), "
            "pass --token, or run `hf auth login`"
        )
    return token


def create_repo(api: HfApi, repo_id: str, *, private: bool, repo_type: str, **options: Any) -> Any:
    """``create_repo(exist_ok=True)``, and an existing public repo made private when ``private``
    (``create_repo`` leaves an existing repo's visibility as it is). ``options`` go to
    ``create_repo`` (a Space's ``space_sdk``)."""
    url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type=repo_type, **options)
    if private and not api.repo_info(repo_id, repo_type=repo_type).private:
        logger.warning(
            "%s exists and is public: making it private before the upload, as private/--private asks "
            "(the repo's Settings page on the Hub changes its visibility back)",
            repo_id,
        )
        api.update_repo_settings(repo_id, private=True, repo_type=repo_type)
    return url
