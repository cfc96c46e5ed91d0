"""TEST FIXTURE: a fake Hugging Face Hub HTTP server for offline round-trip tests.

This is NOT a Hub and not a mirror: it is the smallest in-memory HTTP server that lets the real
``huggingface_hub``, ``transformers`` and ``datasets`` clients push to it and load from it, so the
tests of ``ser_hf.hub`` can run without a network. Point a FRESH process at it with the variables
from :meth:`FakeHub.client_env` (``HF_ENDPOINT`` is read when ``huggingface_hub`` is imported, so
it cannot be changed inside a process that has already imported it).

Routes (the ones the clients were seen to call; anything else answers 404 and is recorded in
``FakeHub.unhandled`` so a test can show what is missing):

- ``GET  /api/whoami-v2``                                 the token's user
- ``POST /api/repos/create``                              JSON ``{name, organization, type, private}``
  (and ``sdk`` for a Space: 400 without one, as the Hub); 409 with the repo's ``url`` when it exists
  (``create_repo(exist_ok=True)`` reads it)
- ``POST /api/spaces/{ns}/{name}/variables``               JSON ``{key, value}``: a Space variable
- ``PUT  /api/{type}s/{ns}/{name}/settings``              JSON ``{private}`` or ``{visibility}``
- ``POST /api/validate-yaml``                             parses the README YAML header
- ``GET  /api/{type}s/{ns}/{name}[/revision/{rev}]``      repo info: ``id``, ``sha``, ``siblings``
- ``GET  /api/{type}s/{ns}/{name}/tree/{rev}[/{path}]``   ``?recursive=`` listing, 404 EntryNotFound
- ``POST /api/{type}s/{ns}/{name}/paths-info/{rev}``      form ``paths=...``
- ``GET  /api/{type}s/{ns}/{name}/refs``                  the ``main`` branch only
- ``POST /api/{type}s/{ns}/{name}/preupload/{rev}``       ``uploadMode`` lfs or regular per file
- ``POST /api/{type}s/{ns}/{name}/commit/{rev}``          NDJSON: header, file (base64), lfsFile
  (by sha256, must have been uploaded), deletedFile, deletedFolder
- ``POST /[datasets/|spaces/]{ns}/{name}.git/info/lfs/objects/batch``  basic transfer, upload href below
- ``PUT  /fake-lfs/{ns}/{name}/{sha256}``                the blob (checked against its sha256)
- ``HEAD/GET /[datasets/|spaces/]{ns}/{name}/resolve/{rev}/{path}``    served directly (no CDN redirect) with
  ``X-Repo-Commit``, ``ETag`` (sha256 for LFS files, git blob sha1 otherwise), ``Content-Length``
  and byte ``Range`` support

Model, dataset and Space repos (a Space is stored, never built or run), ids must be ``namespace/name``, one branch (``main``) plus any
commit sha as a revision. Writes need ``Authorization: Bearer <token>`` with a token in
``FakeHub.tokens``; private repos are invisible (404 RepoNotFound) without one, as on the Hub.
Everything lives in memory and disappears with the server.

``FakeHub.faults`` maps a regex over ``"METHOD /path"`` to an HTTP status the server answers
instead (0: it closes the connection without answering, as a server that died), to test failures.

Run it by hand with ``python tests/fake_hub.py`` (prints the endpoint and the env to export).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

DEFAULT_USER = "user"
DEFAULT_TOKEN = "hf_fake_token_for_tests"
# files the Hub's default .gitattributes sends to LFS (subset), plus anything large or binary
_LFS_SUFFIXES = (
    ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".parquet", ".arrow", ".h5", ".msgpack",
    ".npy", ".npz", ".pkl", ".zip", ".gz", ".tar", ".wav", ".flac", ".mp3", ".ogg", ".png", ".jpg",
)  # fmt: skip
_LFS_MIN_SIZE = 10 * 1024 * 1024


def _git_blob_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True)
class StoredFile:
    """One file at one commit. ``sha256`` is set for LFS files (their bytes live in the LFS store)."""

    content: bytes
    sha256: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def blob_id(self) -> str:
        # git stores the pointer for an LFS file, the content otherwise
        if self.sha256 is not None:
            return _git_blob_sha1(_lfs_pointer(self.sha256, self.size))
        return _git_blob_sha1(self.content)

    @property
    def pointer_size(self) -> int:
        return len(_lfs_pointer(self.sha256 or "", self.size))

    @property
    def etag(self) -> str:
        return self.sha256 if self.sha256 is not None else self.blob_id

    def tree_entry(self, path: str, commit: Commit | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "oid": self.blob_id, "size": self.size, "path": path}
        if self.sha256 is not None:
            entry["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": self.pointer_size}
        if commit is not None:
            entry["lastCommit"] = {"id": commit.sha, "title": commit.title, "date": commit.date}
        return entry


@dataclass
class Commit:
    sha: str
    title: str
    description: str
    date: str
    files: dict[str, StoredFile]


@dataclass
class Repo:
    repo_type: str  # "model" | "dataset" | "space"
    repo_id: str
    private: bool
    sdk: str | None = None  # a Space's
    variables: dict[str, str] = field(default_factory=dict)  # a Space's variables
    commits: list[Commit] = field(default_factory=list)  # newest last; commits[-1] is main

    def commit_at(self, revision: str) -> Commit | None:
        if revision in ("main", "refs/heads/main"):
            return self.commits[-1]
        return next((c for c in self.commits if c.sha == revision), None)

    @property
    def url_prefix(self) -> str:
        return "" if self.repo_type == "model" else f"{self.repo_type}s/"


def _typed(parts: list[str]) -> tuple[str, list[str]]:
    """A git or resolve path's repo type and the parts after its ``datasets/`` or ``spaces/``."""
    prefixes = {"datasets": "dataset", "spaces": "space"}
    return (prefixes[parts[0]], parts[1:]) if parts[:1] and parts[0] in prefixes else ("model", parts)


class _HubError(Exception):
    """An error answer: status, ``X-Error-Message``, optional ``X-Error-Code`` and extra headers."""

    def __init__(
        self, status: int, message: str, code: str | None = None, extra: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


class FakeHub:
    """TEST FIXTURE: an in-memory Hub-like HTTP server on 127.0.0.1 (ephemeral port).

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``url`` is the endpoint,
    ``repos`` maps ``(repo_type, repo_id)`` to :class:`Repo`, ``lfs_store`` maps sha256 to bytes,
    ``log`` records ``"METHOD path -> status"`` for every request.
    """

    def __init__(self, users: dict[str, str] | None = None):
        # token -> user name
        self.tokens: dict[str, str] = dict(users or {DEFAULT_TOKEN: DEFAULT_USER})
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_store: dict[str, bytes] = {}
        self.log: list[str] = []
        self.unhandled: list[str] = []
        self.faults: dict[str, int] = {}  # regex over "METHOD /path" -> status (0: drop the connection)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._commit_counter = 0

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeHub is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client_env(
        self, hf_home: str | os.PathLike[str], token: str | None = DEFAULT_TOKEN
    ) -> dict[str, str]:
        """Environment for a fresh client process that talks to this server and nothing else.

        ``hf_home`` gets the process's Hub and datasets caches (use a fresh tmp dir so nothing is
        served from an earlier cache). ``token=None`` leaves the process without a token.
        """
        env = {
            k: v for k, v in os.environ.items() if k.upper() not in {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
        }
        env.update(
            HF_ENDPOINT=self.url,
            HF_HOME=str(hf_home),
            HF_HUB_OFFLINE="0",
            HF_DATASETS_OFFLINE="0",
            TRANSFORMERS_OFFLINE="0",
            HF_HUB_DISABLE_XET="1",  # the fake speaks plain LFS, not the Xet protocol
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            NO_PROXY="127.0.0.1,localhost",
        )
        env.pop("HF_TOKEN", None)
        if token is not None:
            env["HF_TOKEN"] = token
        return env

    # ---------------------------------------------------------------- state helpers
    def _repo(self, repo_type: str, repo_id: str, user: str | None) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and user != repo_id.split("/")[0]):
            raise _HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def _commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.commit_at(revision)
        if commit is None:
            raise _HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _new_commit(self, repo: Repo, title: str, description: str, files: dict[str, StoredFile]) -> Commit:
        self._commit_counter += 1
        digest = hashlib.sha1()
        digest.update(f"{repo.repo_type}/{repo.repo_id}/{self._commit_counter}/{title}".encode())
        for path in sorted(files):
            digest.update(f"{path}:{files[path].blob_id}".encode())
        commit = Commit(digest.hexdigest(), title, description, _now(), files)
        repo.commits.append(commit)
        return commit

    # ---------------------------------------------------------------- route handlers
    # each returns (status, headers, body bytes); a dict/list body is sent as JSON
    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes, user):
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if method == "GET" and parts == ["api", "whoami-v2"]:
            if user is None:
                raise _HubError(401, "Invalid credentials in Authorization header")
            return 200, {}, self._whoami(user)
        if method == "POST" and parts == ["api", "repos", "create"]:
            return self._create_repo(json.loads(body or b"{}"), user)
        if method == "POST" and parts == ["api", "validate-yaml"]:
            return self._validate_yaml(json.loads(body or b"{}"))
        if len(parts) >= 4 and parts[0] == "api" and parts[1] in ("models", "datasets", "spaces"):
            return self._api_repo(
                method, parts[1][:-1], f"{parts[2]}/{parts[3]}", parts[4:], query, body, user
            )
        if method == "POST" and len(parts) >= 6 and parts[-4:-1] == ["info", "lfs", "objects"]:
            repo_type, rest = _typed(parts)
            repo_id = "/".join(rest[:2]).removesuffix(".git")
            return self._lfs_batch(repo_type, repo_id, json.loads(body or b"{}"), user)
        if method == "PUT" and len(parts) == 4 and parts[0] == "fake-lfs":
            return self._lfs_put(parts[3], body)
        if method in ("GET", "HEAD"):
            repo_type, rest = _typed(parts)
            if len(rest) >= 5 and rest[2] == "resolve":
                return self._resolve(
                    repo_type, f"{rest[0]}/{rest[1]}", rest[3], "/".join(rest[4:]), headers, user
                )
        with self._lock:
            self.unhandled.append(f"{method} {path}")
        raise _HubError(404, f"fake hub: no route for {method} {path}")

    def _whoami(self, user: str) -> dict[str, Any]:
        return {
            "type": "user",
            "id": hashlib.md5(user.encode()).hexdigest()[:24],
            "name": user,
            "fullname": f"{user} (fake hub)",
            "email": f"{user}@example.invalid",
            "emailVerified": True,
            "isPro": False,
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": "write"}},
        }

    def _create_repo(self, payload: dict[str, Any], user: str | None):
        if user is None:
            raise _HubError(401, "Invalid credentials in Authorization header")
        repo_type = payload.get("type") or "model"
        if repo_type not in ("model", "dataset", "space"):
            raise _HubError(400, f"fake hub: repo type {repo_type!r} is not supported")
        if repo_type == "space" and not payload.get("sdk"):
            raise _HubError(400, "Invalid sdk: a Space needs one (gradio, docker, static)")
        namespace = payload.get("organization") or user
        if namespace != user:
            raise _HubError(403, f"You don't have the rights to create a repo under {namespace}")
        repo_id = f"{namespace}/{payload['name']}"
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        with self._lock:
            if (repo_type, repo_id) in self.repos:  # the Hub's 409 carries the url too
                url = f"{self.url}/{self.repos[(repo_type, repo_id)].url_prefix}{repo_id}"
                message = f"You already created this {repo_type} repo"
                return 409, {"X-Error-Message": message}, {"error": message, "url": url}
            repo = Repo(repo_type, repo_id, private, sdk=payload.get("sdk") if repo_type == "space" else None)
            attributes = StoredFile(
                "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in _LFS_SUFFIXES).encode()
            )
            self._new_commit(repo, "initial commit", "", {".gitattributes": attributes})
            self.repos[(repo_type, repo_id)] = repo
        url = f"{self.url}/{repo.url_prefix}{repo_id}"
        return 200, {}, {"url": url, "name": repo_id, "id": repo_id}

    def _validate_yaml(self, payload: dict[str, Any]):
        content = payload.get("content", "")
        match = re.match(r"^---\s*\n(.*?)\n---\s*\n", content, flags=re.S)
        if match is None:
            return 200, {}, {"errors": [], "warnings": [{"message": "Empty or missing yaml metadata"}]}
        try:
            metadata = yaml.safe_load(match.group(1))
        except yaml.YAMLError as err:
            return 400, {}, {"errors": [{"message": f"YAML could not be parsed: {err}"}], "warnings": []}
        if not isinstance(metadata, dict):
            return 400, {}, {"errors": [{"message": "YAML metadata must be a mapping"}], "warnings": []}
        return 200, {}, {"errors": [], "warnings": []}

    def _api_repo(self, method, repo_type, repo_id, rest, query, body, user):
        with self._lock:
            repo = self._repo(repo_type, repo_id, user)
            if method == "GET" and (not rest or rest[0] == "revision"):
                commit = self._commit(repo, "/".join(rest[1:]) if rest else "main")
                return 200, {}, self._repo_info(repo, commit)
            if method == "GET" and rest[:1] == ["refs"]:
                head = repo.commits[-1].sha
                branch = {"name": "main", "ref": "refs/heads/main", "targetCommit": head}
                return 200, {}, {"branches": [branch], "converts": [], "tags": []}
            if method == "GET" and rest[:1] == ["tree"] and len(rest) >= 2:
                commit = self._commit(repo, rest[1])
                recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
                expand = query.get("expand", ["false"])[0].lower() in ("1", "true")
                return 200, {}, self._tree(commit, "/".join(rest[2:]).strip("/"), recursive, expand)
            if method == "POST" and rest[:1] == ["paths-info"] and len(rest) >= 2:
                commit = self._commit(repo, "/".join(rest[1:]))
                form = parse_qs(body.decode())
                paths = form.get("paths", [])
                expand = form.get("expand", ["False"])[0].lower() in ("1", "true")
                return 200, {}, self._paths_info(commit, paths, expand)
            if user is None and method in ("POST", "PUT"):
                raise _HubError(401, "Invalid credentials in Authorization header")
            if user != repo_id.split("/")[0] and method in ("POST", "PUT"):
                raise _HubError(403, f"You don't have write access to {repo_id}")
            if method == "PUT" and rest == ["settings"]:
                payload = json.loads(body or b"{}")
                if "private" in payload or "visibility" in payload:
                    repo.private = bool(payload.get("private")) or payload.get("visibility") == "private"
                return 200, {}, {}
            if method == "POST" and rest == ["variables"] and repo.repo_type == "space":
                payload = json.loads(body or b"{}")
                repo.variables[payload["key"]] = payload["value"]
                return 200, {}, {k: {"value": v, "updatedAt": _now()} for k, v in repo.variables.items()}
            if method == "POST" and rest[:1] == ["preupload"]:
                commit = self._commit(repo, "/".join(rest[1:]))
                return 200, {}, self._preupload(commit, json.loads(body or b"{}"))
            if method == "POST" and rest[:1] == ["commit"]:
                revision = "/".join(rest[1:])
                if revision not in ("main", "refs/heads/main"):
                    raise _HubError(400, f"fake hub: commits go to main only, not {revision!r}")
                return self._commit_ndjson(repo, body)
        with self._lock:
            self.unhandled.append(f"{method} /api/{repo_type}s/{repo_id}/{'/'.join(rest)}")
        raise _HubError(404, f"fake hub: no route for {method} {repo_type} {'/'.join(rest)}")

    def _repo_info(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        siblings = [
            {"rfilename": p, "size": f.size, "blobId": f.blob_id}
            | (
                {"lfs": {"sha256": f.sha256, "size": f.size, "pointerSize": f.pointer_size}}
                if f.sha256
                else {}
            )
            for p, f in sorted(commit.files.items())
        ]
        card = commit.files.get("README.md")
        card_data = None
        if card is not None:
            match = re.match(r"^---\s*\n(.*?)\n---\s*\n", card.content.decode("utf-8", "replace"), flags=re.S)
            card_data = yaml.safe_load(match.group(1)) if match else None
        return {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.sha,
            "lastModified": commit.date,
            "createdAt": repo.commits[0].date,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": list((card_data or {}).get("tags", []) or []),
            "cardData": card_data,
            "siblings": siblings,
        } | ({"sdk": repo.sdk} if repo.repo_type == "space" else {})

    @staticmethod
    def _folders(files: dict[str, StoredFile]) -> set[str]:
        folders = set()
        for path in files:
            parts = path.split("/")[:-1]
            folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return folders

    def _tree(self, commit: Commit, prefix: str, recursive: bool, expand: bool) -> list[dict[str, Any]]:
        folders = self._folders(commit.files)
        if prefix and prefix not in folders:
            if prefix in commit.files:
                return [commit.files[prefix].tree_entry(prefix, commit if expand else None)]
            raise _HubError(404, f"{prefix} does not exist on main", "EntryNotFound")
        base = f"{prefix}/" if prefix else ""
        entries = []
        for folder in sorted(folders):
            rel = folder[len(base) :] if folder.startswith(base) else None
            if rel and (recursive or "/" not in rel):
                oid = hashlib.sha1(f"{commit.sha}/{folder}".encode()).hexdigest()
                entries.append({"type": "directory", "oid": oid, "size": 0, "path": folder})
        for path, stored in sorted(commit.files.items()):
            rel = path[len(base) :] if path.startswith(base) else None
            if rel and (recursive or "/" not in rel):
                entries.append(stored.tree_entry(path, commit if expand else None))
        return entries

    def _paths_info(self, commit: Commit, paths: list[str], expand: bool) -> list[dict[str, Any]]:
        folders = self._folders(commit.files)
        out = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                out.append(commit.files[path].tree_entry(path, commit if expand else None))
            elif path in folders:
                oid = hashlib.sha1(f"{commit.sha}/{path}".encode()).hexdigest()
                out.append({"type": "directory", "oid": oid, "size": 0, "path": path})
        return out

    def _preupload(self, commit: Commit, payload: dict[str, Any]) -> dict[str, Any]:
        files = []
        for item in payload.get("files", []):
            path, size = item["path"], int(item["size"])
            sample = base64.b64decode(item.get("sample", ""))
            lfs = size >= _LFS_MIN_SIZE or path.lower().endswith(_LFS_SUFFIXES) or b"\0" in sample
            existing = commit.files.get(path)
            oid = existing.etag if existing is not None else None
            files.append(
                {"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
            )
        return {"files": files, "commitOid": commit.sha}

    def _commit_ndjson(self, repo: Repo, body: bytes):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise _HubError(400, "fake hub: the commit payload must start with a header line")
        header = lines[0]["value"]
        parent = repo.commits[-1]
        if header.get("parentCommit") not in (None, parent.sha):
            raise _HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(parent.files)
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise _HubError(400, f"fake hub: unsupported encoding {value.get('encoding')!r}")
                files[value["path"]] = StoredFile(base64.b64decode(value["content"]))
            elif key == "lfsFile":
                blob = self.lfs_store.get(value["oid"])
                if blob is None:
                    raise _HubError(400, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                files[value["path"]] = StoredFile(blob, sha256=value["oid"])
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    raise _HubError(404, "A file with this name doesn't exist", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: f for p, f in files.items() if not p.startswith(prefix)}
            else:
                raise _HubError(400, f"fake hub: unsupported commit operation {key!r}")
        commit = self._new_commit(repo, header.get("summary", ""), header.get("description", ""), files)
        url = f"{self.url}/{repo.url_prefix}{repo.repo_id}/commit/{commit.sha}"
        return 200, {}, {"success": True, "commitOid": commit.sha, "commitUrl": url, "pullRequestUrl": None}

    def _lfs_batch(self, repo_type: str, repo_id: str, payload: dict[str, Any], user: str | None):
        with self._lock:
            self._repo(repo_type, repo_id, user)
        if user is None:
            raise _HubError(401, "Invalid credentials in Authorization header")
        if payload.get("operation") != "upload":
            raise _HubError(400, "fake hub: only LFS uploads are supported (downloads go through resolve)")
        objects = []
        for obj in payload.get("objects", []):
            entry: dict[str, Any] = {"oid": obj["oid"], "size": int(obj["size"]), "authenticated": True}
            if obj["oid"] not in self.lfs_store:  # no "actions" = already uploaded
                href = f"{self.url}/fake-lfs/{repo_id}/{obj['oid']}"  # the repo id: for FakeHub.faults
                entry["actions"] = {"upload": {"href": href, "header": {}}}
            objects.append(entry)
        return (
            200,
            {"Content-Type": "application/vnd.git-lfs+json"},
            {"transfer": "basic", "objects": objects},
        )

    def _lfs_put(self, oid: str, body: bytes):
        if hashlib.sha256(body).hexdigest() != oid:
            raise _HubError(400, f"fake hub: uploaded bytes do not hash to {oid}")
        with self._lock:
            self.lfs_store[oid] = body
        return 200, {}, b""

    def _resolve(
        self, repo_type: str, repo_id: str, revision: str, path: str, headers: Any, user: str | None
    ):
        with self._lock:
            repo = self._repo(repo_type, repo_id, user)
            commit = self._commit(repo, revision)
            stored = commit.files.get(path)
        if stored is None:
            raise _HubError(
                404, f"Entry not found: {path}", "EntryNotFound", extra={"X-Repo-Commit": commit.sha}
            )
        out_headers = {
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{stored.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        content = stored.content
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", headers.get("Range", "") or "")
        if match and content:
            start_s, end_s = match.groups()
            if start_s == "":  # suffix range: the last N bytes
                start, end = max(0, len(content) - int(end_s)), len(content) - 1
            else:
                start, end = int(start_s), min(int(end_s) if end_s else len(content) - 1, len(content) - 1)
            if start >= len(content):
                raise _HubError(416, "Requested range not satisfiable")
            out_headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            return 206, out_headers, content[start : end + 1]
        return 200, out_headers, content


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients expect
    fake_hub: FakeHub

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        return self.fake_hub.tokens.get(token) if token else None

    def _dispatch(self) -> None:
        hub = self.fake_hub
        split = urlsplit(self.path)
        body = self._read_body() if self.command in ("POST", "PUT") else b""
        fault = next((s for r, s in hub.faults.items() if re.search(r, f"{self.command} {split.path}")), None)
        if fault == 0:  # a server that died mid-request: no answer at all
            self.close_connection = True
            return
        try:
            if fault is not None:
                raise _HubError(fault, f"fake hub: injected HTTP {fault}", extra={"Retry-After": "0"})
            status, headers, payload = hub.handle(
                self.command, split.path, parse_qs(split.query), self.headers, body, self._user()
            )
        except _HubError as err:
            status, payload = err.status, {"error": err.message}
            headers = {"X-Error-Message": err.message, **err.extra}
            if err.code:
                headers["X-Error-Code"] = err.code
        except Exception as err:  # a bug in the fixture: answer 500 so the client fails loudly
            status, headers, payload = 500, {}, {"error": f"fake hub crashed: {err!r}"}
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json")
        with hub._lock:
            hub.log.append(f"{self.command} {self.path} -> {status}")
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch


if __name__ == "__main__":
    import time

    with FakeHub() as server:
        print(f"fake hub (test fixture) at {server.url}")
        print(f"export HF_ENDPOINT={server.url} HF_TOKEN={DEFAULT_TOKEN} HF_HUB_DISABLE_XET=1")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
