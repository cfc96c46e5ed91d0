"""``adapt`` and ``reset_adaptation`` on one ``EmotionClassifier`` that other threads use meanwhile
(a web service's threads; probe of session 38).

Each test forces its interleaving: the adapting thread, at a chosen point of its work (its first
forward, or just before it switches the model to the speaker head), runs another thread's call and
waits for it. Where the fixed code makes that call wait for the adaptation instead, the adapting
thread waits half a second for it and goes on: a slow machine can only make a test pass on the old
code, never fail on the new one."""

from __future__ import annotations

import copy
import pickle
import threading
import time
from collections.abc import Callable

import numpy as np
import torch
from test_training import _clip

from ser_hf.inference.classifier import EmotionClassifier
from ser_hf.training.adaptation_lock import StatisticsLock
from ser_hf.training.presets import build_model

F0 = (140.0, 300.0, 600.0)
WAIT = 0.5  # how long the adapting thread waits for a call that the fixed code makes wait for it


def _clips(n: int, seed: int) -> list[np.ndarray]:
    return [_clip(F0[i % 3] * (1 + 0.02 * i), 0.6, seed + i) for i in range(n)]


def _scores(result: list[dict]) -> np.ndarray:
    return np.array([d["score"] for d in sorted(result, key=lambda d: d["label"])])


def _buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: b.detach().clone() for name, b in model.named_buffers()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k].double(), b[k].double(), atol=1e-6) for k in a)


def _in_thread(work: Callable[[], object], name: str = "call") -> tuple[threading.Thread, list]:
    """``work`` started on its own thread; the list receives its result or its exception."""
    out: list = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as err:  # noqa: BLE001  (re-raised by _result)
            out.append(err)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread, out


def _result(thread: threading.Thread, out: list) -> object:
    thread.join(60)
    assert not thread.is_alive() and out, "the thread did not finish"
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def _meanwhile_at_first_forward(monkeypatch, model: torch.nn.Module, then: Callable[[], None]) -> None:
    """The first forward of the model's class on the thread named "adapt" (adapt's own: the shared
    model's on the old code, its private copy's now) first runs ``then``."""
    cls, forward, done = type(model), type(model).forward, []

    def paused(self, *args, **kwargs):
        if threading.current_thread().name == "adapt" and not done:
            done.append(True)
            then()
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", paused)


def test_a_reset_during_adapt_no_longer_leaves_the_model_adapted_for_good(monkeypatch):
    """A thread reset the classifier while another adapted it: the reset deleted the saved training
    statistics mid-adapt, adapt then wrote its statistics, and every later reset_adaptation() did
    nothing while adapted_on said 0 (scores 0.2 off the model's). A reset now waits for the adapt."""
    clf = EmotionClassifier(device="cpu")
    model = clf.backend.model
    trained, probe = _buffers(model), _clip(220.0, 0.8, 5)
    plain = _scores(clf.classify(probe, top_k=None))
    resets: list = []

    def reset_meanwhile() -> None:
        thread, out = _in_thread(clf.reset_adaptation, "reset")
        thread.join(WAIT)  # the fixed code makes it wait for the adapt
        resets.append((thread, out))

    _meanwhile_at_first_forward(monkeypatch, model, reset_meanwhile)
    assert _result(*_in_thread(lambda: clf.adapt(_clips(12, 100)), "adapt")) is clf
    _result(*resets[0])
    # whichever came last, what the classifier says is what the model holds
    assert (clf.adapted_on == 0) == _same(_buffers(model), trained)
    clf.reset_adaptation()
    assert clf.adapted_on == 0 and "adapted_on" not in repr(clf)
    assert _same(_buffers(model), trained)
    np.testing.assert_allclose(_scores(clf.classify(probe, top_k=None)), plain, atol=1e-6)


def test_adapt_learns_only_from_its_own_clips_while_other_threads_classify(monkeypatch):
    """adapt() hooked the shared model, so a clip another thread classified meanwhile entered the
    statistics (scores up to 0.18 off a sequential adapt's). The statistics come from the clips given."""
    clf = EmotionClassifier(device="cpu")
    model, clips, other = clf.backend.model, _clips(12, 200), _clip(900.0, 1.5, 9)
    plain_other = _scores(clf.classify(other, top_k=None))
    clf.adapt(clips)
    alone = _buffers(model)
    clf.reset_adaptation()
    seen: list = []
    _meanwhile_at_first_forward(
        monkeypatch, model, lambda: seen.append(_result(*_in_thread(lambda: clf.classify(other, top_k=None))))
    )
    _result(*_in_thread(lambda: clf.adapt(clips), "adapt"))
    assert _same(_buffers(model), alone) and clf.adapted_on == 12
    np.testing.assert_allclose(_scores(seen[0]), plain_other, atol=1e-6)  # classified unadapted
    clf.reset_adaptation()


def test_adapting_a_batchnorm_model_leaves_other_threads_in_eval_mode(monkeypatch):
    """AdaBN put the shared model's BatchNorm layers in train mode while adapting: a clip another
    thread classified then got train-mode scores and moved the running statistics."""
    torch.manual_seed(0)
    model, extractor = build_model("compact-small", ["neutral", "happy", "sad"])
    clf = EmotionClassifier(model.eval(), feature_extractor=extractor, device="cpu")
    clips, other = _clips(4, 300), _clip(450.0, 0.8, 11)
    plain_other = _scores(clf.classify(other, top_k=None))
    clf.adapt(clips)
    alone = _buffers(model)
    clf.reset_adaptation()
    seen: list = []
    _meanwhile_at_first_forward(
        monkeypatch, model, lambda: seen.append(_result(*_in_thread(lambda: clf.classify(other, top_k=None))))
    )
    _result(*_in_thread(lambda: clf.adapt(clips), "adapt"))
    np.testing.assert_allclose(_scores(seen[0]), plain_other, atol=1e-6)
    assert _same(_buffers(model), alone) and not model.training
    clf.reset_adaptation()


def test_a_call_during_the_install_sees_the_old_statistics_or_the_new_ones_in_full():
    """adapt() wrote the mean, the speaker scale and the switch to the speaker head one after the other:
    a call in between read a new mean through the unadapted head, scores of no model at all."""
    from torch.overrides import TorchFunctionMode

    clf = EmotionClassifier(device="cpu")
    model, clips, probe = clf.backend.model, _clips(12, 400), _clip(260.0, 0.8, 13)
    plain = _scores(clf.classify(probe, top_k=None))
    adapted = _scores(clf.adapt(clips).classify(probe, top_k=None))
    clf.reset_adaptation()
    switch, calls = model.speaker_adapted, []

    class BeforeTheSwitch(TorchFunctionMode):  # the adapting thread's torch calls only
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if (
                not calls
                and args
                and args[0] is switch
                and getattr(func, "__name__", "") in ("copy_", "fill_")
            ):
                calls.append(_in_thread(lambda: clf.classify(probe, top_k=None)))
                calls[0][0].join(WAIT)  # the fixed code makes it wait for the install
            return func(*args, **(kwargs or {}))

    def adapt() -> EmotionClassifier:
        with BeforeTheSwitch():
            return clf.adapt(clips)

    _result(*_in_thread(adapt, "adapt"))
    assert calls, "the install was not seen"
    during = _scores(_result(*calls[0]))
    assert min(np.abs(during - plain).max(), np.abs(during - adapted).max()) < 1e-6, (during, plain, adapted)
    clf.reset_adaptation()


def test_classifiers_sharing_a_model_say_alike_whether_it_is_adapted():
    """copy.copy shares the model, so adapting the copy adapts both: the original says so now too; a
    pickled adapted classifier still resets to the training statistics."""
    clf = EmotionClassifier(device="cpu")
    trained = _buffers(clf.backend.model)
    twin = copy.copy(clf).adapt(_clips(12, 500))
    assert clf.adapted_on == twin.adapted_on == 12 and "adapted_on=12 clips" in repr(clf)
    revived = pickle.loads(pickle.dumps(clf))
    assert revived.adapted_on == 12 and not _same(_buffers(revived.backend.model), trained)
    assert _same(_buffers(revived.reset_adaptation().backend.model), trained)
    clf.reset_adaptation()
    assert twin.adapted_on == 0 and _same(_buffers(twin.backend.model), trained)
    assert copy.deepcopy(clf).adapt(_clips(12, 500)).adapted_on == 12 and clf.adapted_on == 0


def test_the_statistics_lock_lets_a_reader_read_again_while_a_writer_waits():
    """Writers go first (a stream of calls cannot keep an adaptation out), yet a thread already
    reading never waits for a writer that waits for it."""
    lock, order = StatisticsLock(), []
    lock.acquire_read()

    def write() -> None:
        with lock.writing():
            order.append("write")

    writer, out = _in_thread(write, "writer")
    deadline = time.monotonic() + 10
    while not lock._writers_waiting and time.monotonic() < deadline:
        time.sleep(0.001)
    assert lock._writers_waiting == 1
    reader, _ = _in_thread(lambda: lock.reading().__enter__(), "reader")  # a new reader waits
    reader.join(0.05)
    assert reader.is_alive()
    with lock.reading():  # this thread reads again: no deadlock
        order.append("read again")
    lock.release_read()
    _result(writer, out)
    reader.join(10)
    assert order == ["read again", "write"] and not reader.is_alive()


def test_a_call_waits_while_the_statistics_are_written():
    """Calls share the lock (they never wait for one another); installing takes it alone."""
    from ser_hf.training.adaptation_lock import statistics_lock

    clf = EmotionClassifier(device="cpu")
    with statistics_lock(clf.backend.model).writing():
        thread, out = _in_thread(lambda: clf.classify(_clip(300.0, 0.6, 1), top_k=1))
        thread.join(0.2)
        assert thread.is_alive()
    assert _result(thread, out)[0]["label"]


def test_a_reset_of_a_model_never_adapted_takes_no_write_lock():
    """reset_adaptation() took the write lock even with nothing to restore: called from a thread that
    holds a read lock (a forward hook), it waited for itself for good."""
    from ser_hf.training.adaptation import restore_model
    from ser_hf.training.adaptation_lock import statistics_lock

    model, _ = build_model("compact-small", ["neutral", "happy"])
    done = threading.Event()

    def reset_inside_a_forward() -> None:
        with statistics_lock(model).reading():
            restore_model(model)
        done.set()

    threading.Thread(target=reset_inside_a_forward, daemon=True).start()
    assert done.wait(5.0), "restore_model of a never-adapted model waited on its own read lock"
