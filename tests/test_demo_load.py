"""The demo under load (issue 6 item 3): concurrent gradio_client users mixing good and bad uploads.

8 clients x 10 requests each against the launched demo: every good request answered with a label,
every bad one with an error message naming the file, the server still answering afterwards, and
the p95 latency printed (and written to ``tests/_artifacts/demo_load.json``). An upload above the
size limit is refused with a message.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import EXAMPLES, REPO, make_speechlike
from test_demo import LABELS, bad_inputs, huge_file, launched, load_app, save_tiny_model

CLIENTS = 8
REQUESTS_PER_CLIENT = 10
DEADLINE_S = 120  # the whole burst; a hang fails instead of blocking CI
ARTIFACT = REPO / "tests" / "_artifacts" / "demo_load.json"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from ser_hf import EmotionClassifier

    app = load_app()
    clf = EmotionClassifier.from_pretrained(save_tiny_model(tmp_path_factory.mktemp("tiny")), device="cpu")
    with launched(app, clf) as url:
        yield app, url


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[list[Path], dict[str, Path]]:
    folder = tmp_path_factory.mktemp("load")
    good = sorted(EXAMPLES.glob("*.flac"))[:4]
    synthetic = folder / "speechlike.wav"
    sf.write(synthetic, make_speechlike(2.0, seed=11), 16000)
    bad = {k: v for k, v in bad_inputs(folder / "bad").items() if k in ("empty", "random", "text")}
    return [*good, synthetic], bad


def _one_user(url: str, plan: list[tuple[str, Path]]) -> list[dict]:
    """One gradio_client session sending its requests one after another."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(url, verbose=False)
    records = []
    try:
        for kind, path in plan:
            start = time.perf_counter()
            record = {"kind": kind, "file": path.name}
            try:
                result = client.predict(handle_file(str(path)), api_name="/classify")
                record.update(ok=True, label=result[0]["label"])
            except AppError as err:
                record.update(ok=False, error=str(err))
            except Exception as err:  # anything else is a failure of the server, not of the input
                record.update(ok=False, error=f"{type(err).__name__}: {err}", crash=True)
            record["latency_s"] = time.perf_counter() - start
            records.append(record)
    finally:
        client.close()
    return records


@pytest.mark.slow
def test_concurrent_users_with_good_and_bad_uploads(served, inputs):
    app, url = served
    good, bad = inputs
    bad_list = list(bad.values())
    plans = []
    for c in range(CLIENTS):
        plan = []
        for r in range(REQUESTS_PER_CLIENT):
            k = c * REQUESTS_PER_CLIENT + r
            # 6 good and 4 bad requests per user, interleaved differently for each user
            if (r + c) % 5 < 3:
                plan.append(("good", good[k % len(good)]))
            else:
                plan.append(("bad", bad_list[k % len(bad_list)]))
        plans.append(plan)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(_one_user, url, plan) for plan in plans]
        records = [rec for f in futures for rec in f.result(timeout=DEADLINE_S)]
    wall = time.perf_counter() - start

    assert len(records) == CLIENTS * REQUESTS_PER_CLIENT
    good_recs = [r for r in records if r["kind"] == "good"]
    bad_recs = [r for r in records if r["kind"] == "bad"]
    failed_good = [r for r in good_recs if not r["ok"] or r.get("label") not in LABELS]
    assert not failed_good, f"good requests failed under load: {failed_good[:3]}"
    for r in bad_recs:
        assert not r["ok"] and not r.get("crash"), f"bad input not answered with a message: {r}"
        assert r["file"] in r["error"], f"the message names the file: {r}"

    # the server is still answering after the burst
    after = _one_user(url, [("good", good[0])])[0]
    assert after["ok"] and after["label"] in LABELS

    latencies = np.array([r["latency_s"] for r in records])
    p50, p95 = np.percentile(latencies, [50, 95])
    good_p95 = float(np.percentile([r["latency_s"] for r in good_recs], 95))
    summary = {
        "clients": CLIENTS,
        "requests": len(records),
        "good": len(good_recs),
        "bad": len(bad_recs),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(records) / wall, 2),
        "p50_s": round(float(p50), 3),
        "p95_s": round(float(p95), 3),
        "good_p95_s": round(good_p95, 3),
        "concurrency_limit": app.CONCURRENCY,
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(summary, indent=2))
    print(f"\ndemo under load: {json.dumps(summary)}")


def test_upload_above_the_size_limit_is_refused(served, tmp_path):
    from gradio_client import Client, handle_file

    app, url = served
    path = huge_file(tmp_path, app)
    client = Client(url, verbose=False)
    try:
        with pytest.raises(Exception, match=r"(?i)(too large|maximum|20 ?MB|size)") as info:
            client.predict(handle_file(str(path)), api_name="/classify")
        print(f"\nupload of {path.stat().st_size / 2**20:.0f} MB refused: {info.value}")
        # the server refuses it too, not only the client (curl, another client library)
        import httpx

        with open(path, "rb") as fh:
            response = httpx.post(f"{url}gradio_api/upload", files={"files": (path.name, fh)}, timeout=60)
        assert response.status_code == 413, response.text
        assert "maximum allowed size" in response.text
        # a normal request right after is still served
        ok = client.predict(handle_file(str(next(EXAMPLES.glob("*.flac")))), api_name="/classify")
        assert ok[0]["label"] in LABELS
    finally:
        client.close()
